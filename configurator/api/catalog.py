"""`/api/v1/catalog`: the product families and modules of the content pack being served."""
from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from ..current import current_content
from . import errors
from .schemas import FamilyDetailSchema, FamilySchema, ModuleListArgs, ModuleSchema

blp = Blueprint("catalog", __name__, url_prefix="/api/v1/catalog",
                description="Browse the modular product catalog (not paginated: a catalog holds "
                            "tens to hundreds of modules).")
errors.attach(blp)


def _catalog() -> Any:
    return current_content().pack.catalog


def _family(family: Any) -> dict:
    return {"id": family.id, "title": family.title, "description": family.description,
            "modules": list(family.modules)}


@blp.route("/families")
class Families(MethodView):

    @blp.doc(operationId="listFamilies")
    @blp.response(200, FamilySchema(many=True))
    @errors.responses(blp, 503)
    def get(self) -> list:
        """List the product families, with their module ids"""
        return [_family(f) for f in _catalog().families.values()]


@blp.route("/families/<family_id>")
class Family(MethodView):

    @blp.doc(operationId="getFamily")
    @blp.response(200, FamilyDetailSchema)
    @errors.responses(blp, 404, 503, _404="No such product family")
    def get(self, family_id: str) -> dict:
        """Fetch a product family with its modules"""
        catalog = _catalog()
        family = catalog.families.get(family_id)
        if family is None:
            abort(404, message=f"there is no product family `{family_id}`")
        return {**_family(family),
                "modules": [catalog.modules[m].describe() for m in family.modules]}


@blp.route("/modules")
class Modules(MethodView):

    @blp.doc(operationId="listModules")
    @blp.arguments(ModuleListArgs, location="query", unknown=ma.RAISE)
    @blp.response(200, ModuleSchema(many=True))
    @errors.responses(blp, 503)
    def get(self, args: dict) -> list:
        """List the modules, optionally of one family or kind"""
        return [m.describe() for m in _catalog().modules.values()
                if args.get("family") in (None, m.family) and args.get("kind") in (None, m.kind)]


@blp.route("/modules/<module_id>")
class Module(MethodView):

    @blp.doc(operationId="getModule")
    @blp.response(200, ModuleSchema)
    @errors.responses(blp, 404, 503, _404="No such module")
    def get(self, module_id: str) -> dict:
        """Fetch a module"""
        module = _catalog().modules.get(module_id)
        if module is None:
            abort(404, message=f"there is no module `{module_id}`")
        return module.describe()
