"""Roles and what each may do in the web forms.

| role | may |
|---|---|
| solution-lead | customers and their profiles, configure, adjust, proposals |
| product-manager | the content page: version, check status, rules, try a profile |
| admin | everything, and the users page |
"""
from __future__ import annotations

ROLES = ("solution-lead", "product-manager", "admin")
ROLE_LABELS = {"solution-lead": "Solution lead", "product-manager": "Product manager",
               "admin": "Administrator"}

# permission -> the roles that have it
PERMISSIONS: dict[str, frozenset[str]] = {
    "customers": frozenset({"solution-lead", "admin"}),
    "content": frozenset({"product-manager", "admin"}),
    "users": frozenset({"admin"}),
}


def allowed(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]
