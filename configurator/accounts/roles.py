"""Roles (people in the web forms), scopes (API keys of programs), and what each may do.

Both guard the same resources: a role is a set of scopes, so a solution lead may do in the web
forms what a key with `configure`, `proposals` and `catalog:read` may do through the API.

| scope | resources |
|---|---|
| configure | configurations, revisions, explanations (read and write) |
| proposals | proposals and their PDFs, reading approvals |
| approve | recording an approval of a revision |
| catalog:read | the catalog and the profile schema |
| content:admin | the content pack's status and reloading it |
| users:admin | the users: listing them, the approver roles they hold |

| role | scopes | web pages |
|---|---|---|
| solution-lead | configure, proposals, catalog:read | customers, profiles, configurations, proposals |
| product-manager | catalog:read, content:admin | the content page |
| admin | every scope | everything: approving revisions, and the users page |
"""
from __future__ import annotations

SCOPES = ("configure", "proposals", "approve", "catalog:read", "content:admin", "users:admin")

ROLES = ("solution-lead", "product-manager", "admin")
ROLE_LABELS = {"solution-lead": "Solution lead", "product-manager": "Product manager",
               "admin": "Administrator"}
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "solution-lead": frozenset({"configure", "proposals", "catalog:read"}),
    "product-manager": frozenset({"catalog:read", "content:admin"}),
    "admin": frozenset(SCOPES),
}

# web permission -> the scope it needs (only the admin role has users:admin)
PERMISSION_SCOPES: dict[str, str] = {"customers": "configure", "content": "content:admin",
                                     "approve": "approve", "users": "users:admin"}


def allowed(role: str, permission: str) -> bool:
    return PERMISSION_SCOPES[permission] in ROLE_SCOPES.get(role, frozenset())
