"""Sign-in, sign-out, and the users page for admins."""
from __future__ import annotations

import flask
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from ..store import flaskdb as db
from ..store.db import begin_write
from ..store.models import ROUTE_ID
from . import services, throttle
from .access import protect_forms, require, safe_next
from .roles import ROLE_LABELS, ROLES

bp = flask.Blueprint("accounts", __name__, template_folder="templates")
bp.before_request(protect_forms)
# app.extensions key: () -> the approver roles the served rules name (see init_app)
NAMED_ROLES = "configurator.named_approver_roles"


@bp.after_request
def _no_store(response: flask.Response) -> flask.Response:
    """Sign-in and user pages are never kept by the browser's cache."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")) or url_for("web.home"))
    email = request.form.get("email", "").strip()
    error, status, headers = None, 200, {}
    if request.method == "POST":
        password = request.form.get("password", "")
        if not (email and password):
            error, status = "Enter your email address and password.", 401
        else:
            session = db.session()
            attempt = services.attempt_password(session, email, password, _client_address(),
                                                _policy())
            session.commit()  # the sign-in, or the failure counted
            if attempt.account is not None:
                flask.session.clear()  # a fresh session (and CSRF token) for the signed-in user
                login_user(attempt.account)
                flash(f"Signed in as {attempt.account.name} ({attempt.account.role_label}).",
                      "success")
                return redirect(safe_next(request.form.get("next")) or url_for("web.home"))
            error, status = "That email address and password do not match an active user.", 401
            if attempt.lock is not None:
                error = attempt.lock.message()
                status, headers = 429, {"Retry-After": str(attempt.lock.retry_after())}
    return render_template("accounts/sign_in.html", email=email, error=error,
                           next=safe_next(request.values.get("next")) or ""), status, headers


def _client_address() -> str:
    """The client's address as the sign-in throttle counts it (the proxy's, unless
    CONFIGURATOR_TRUSTED_PROXIES says how many proxies to look behind)."""
    return throttle.client_address(request.remote_addr)


def _policy() -> throttle.Policy:
    return throttle.Policy.from_config(flask.current_app.config)


@bp.route("/sign-out", methods=["GET", "POST"])
def sign_out():
    if request.method == "GET":
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.sign_in"))
        return render_template("accounts/sign_out.html")
    logout_user()
    flask.session.clear()
    flash("You are signed out.", "success")
    return redirect(url_for("accounts.sign_in"))


# --- users (admins) ----------------------------------------------------------------------------

def named_roles() -> tuple[str, ...]:
    """The approver roles the served rules name (`require_approval`), sorted."""
    return tuple(sorted(flask.current_app.extensions[NAMED_ROLES]()))


def _users_page(form: dict | None = None, errors: dict | None = None, status: int = 200):
    accounts = services.list_users(db.session())
    return render_template("accounts/users.html", users=accounts, roles=ROLES,
                           role_labels=ROLE_LABELS, form=form or {"role": "solution-lead"},
                           errors=errors or {}, named_roles=named_roles()), status


@bp.get("/admin/users")
@require("users")
def users():
    return _users_page()


@bp.post("/admin/users")
@require("users")
def create_user():
    form = {k: request.form.get(k, "") for k in ("email", "name", "role", "password")}
    password = form["password"] or services.generate_password()
    session = db.session()
    try:
        account = services.create_user(session, form["email"], form["name"], form["role"],
                                       password)
    except services.UserInvalid as exc:
        form["password"] = ""
        return _users_page(form, exc.errors, 422)
    session.commit()
    message = f"Created {account.name} ({account.email}) as {account.role_label}."
    if not form["password"]:
        message += f" Their password is {password} (shown once; pass it on safely)."
    flash(message, "success")
    return redirect(url_for("accounts.users"))


@bp.post(f"/admin/users/<{ROUTE_ID}:user_id>/active")
@require("users")
def set_active(user_id: int):
    active = request.form.get("active") == "true"
    if user_id == current_user.id and not active:
        flash("You cannot deactivate yourself; ask another admin.", "error")
        return redirect(url_for("accounts.users"))
    session = db.session()
    try:
        account = services.set_active(session, user_id, active)
    except services.UserNotFound:
        flask.abort(404)
    session.commit()
    flash(f"{account.name} is {'active again' if active else 'deactivated and signed out'}.",
          "success")
    return redirect(url_for("accounts.users"))


@bp.post(f"/admin/users/<{ROUTE_ID}:user_id>/role")
@require("users")
def set_role(user_id: int):
    if user_id == current_user.id:
        flash("You cannot change your own role; ask another admin.", "error")
        return redirect(url_for("accounts.users"))
    session = db.session()
    try:
        account = services.set_role(session, user_id, request.form.get("role", ""))
    except services.UserNotFound:
        flask.abort(404)
    except services.UserInvalid as exc:
        flash(" ".join(exc.errors["role"]), "error")
        return redirect(url_for("accounts.users"))
    session.commit()
    flash(f"{account.name} is now {account.role_label}.", "success")
    return redirect(url_for("accounts.users"))


@bp.post(f"/admin/users/<{ROUTE_ID}:user_id>/approver-roles")
@require("users")
def set_approver_roles(user_id: int):
    """The approvals a user may give: the roles the rules name, ticked (a role the rules no
    longer name stays only while ticked)."""
    session = db.session()
    begin_write(session)
    try:
        before = set(services.get_user_by_id(session, user_id).approver_roles)
        account = services.set_approver_roles(session, user_id, request.form.getlist("roles"),
                                               named=named_roles())
    except services.UserNotFound:
        flask.abort(404)
    except services.UserInvalid as exc:
        session.rollback()
        flash(" ".join(exc.errors["approver_roles"]) + ". Nothing was changed.", "error")
        return redirect(url_for("accounts.users"))
    session.commit()
    flash(roles_message(account.name, before, set(account.approver_roles)), "success")
    return redirect(url_for("accounts.users"))


def roles_message(name: str, before: set[str], after: set[str]) -> str:
    """The flash message, e.g. `Ada Approver now approves as finance and legal (added legal).`"""
    def listed(roles: set[str]) -> str:
        named = [r.replace("-", " ").replace("_", " ") for r in sorted(roles)]
        return " and ".join(filter(None, [", ".join(named[:-1]), named[-1]])) if named else ""

    if before == after:
        return f"{name}'s approver roles are unchanged: {listed(after) or 'none'}."
    changes = [f"{what} {listed(roles)}" for what, roles in
               (("added", after - before), ("removed", before - after)) if roles]
    now = f"approves as {listed(after)}" if after else "approves nothing any more"
    return f"{name} now {now} ({'; '.join(changes)})."


@bp.post(f"/admin/users/<{ROUTE_ID}:user_id>/password")
@require("users")
def reset_password(user_id: int):
    password = services.generate_password()
    session = db.session()
    try:
        account = services.set_password(session, user_id, password)
    except services.UserNotFound:
        flask.abort(404)
    session.commit()
    flash(f"New password for {account.email}: {password} (shown once; their other sessions "
          "have ended).", "success")
    return redirect(url_for("accounts.users"))


# --- one's own password ------------------------------------------------------------------------

@bp.route("/account", methods=["GET", "POST"])
@require()
def account():
    errors: dict[str, list[str]] = {}
    headers: dict[str, str] = {}
    if request.method == "POST":
        session = db.session()
        current = request.form.get("current", "")
        new = request.form.get("password", "")
        # a stolen session must not become a way to guess the password: the sign-in throttle
        attempt = (services.attempt_password(session, current_user.email, current,
                                             _client_address(), _policy(), signing_in=False)
                   if current else None)
        if attempt is None:
            errors["current"] = ["Enter your current password."]
        elif attempt.account is None:
            session.commit()  # the failure counted
            errors["current"] = [attempt.lock.message() if attempt.lock
                                 else "That is not your current password."]
            if attempt.lock:
                headers = {"Retry-After": str(attempt.lock.retry_after())}
        elif request.form.get("confirm", "") != new:
            errors["confirm"] = ["The two new passwords differ."]
        else:
            try:
                updated = services.set_password(session, current_user.id, new)
            except services.UserInvalid as exc:
                errors = exc.errors
            else:
                session.commit()
                login_user(updated)  # this session carries the new token; the others end
                flash("Your password is changed; your other sessions have ended.", "success")
                return redirect(url_for("accounts.account"))
    status = (429 if headers else 422) if errors else 200
    return render_template("accounts/account.html", errors=errors), status, headers
