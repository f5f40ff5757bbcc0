"""Read catalog files (`catalog/*.yaml`, one per product family) into Modules and check them."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from .document import BILLINGS
from .iso import CURRENCIES
from .model import KINDS, Catalog, Family, Module, Price
from .problems import ProblemLog
from .rules import ID_PATTERN, suggest
from .yamlfile import item_lines, key_lines, line_of

FAMILY_KEYS = ("family", "title", "description", "modules")
MODULE_KEYS = ("id", "name", "kind", "description", "price", "requires", "excludes", "benefits")
PRICE_KEYS = ("amount", "currency", "per", "billing")
MAX_PRICE = 10 ** 12     # per unit; totals stay exact to the cent in Decimal's 28 digits


def parse_family(doc: Any, file: str, log: ProblemLog) -> tuple[Family | None, list[Module]]:
    if not isinstance(doc, dict):
        log.error(1, "a catalog file must be a mapping with `family`, `title` and `modules`",
                  "start with `family: NAME`")
        return None, []
    for key in doc:
        if key not in FAMILY_KEYS:
            log.error(line_of(doc, key), f"unknown key `{key}` in a catalog file",
                      " ".join(filter(None, [suggest(key, FAMILY_KEYS),
                                             f"allowed: {', '.join(FAMILY_KEYS)}"])))
    family = doc.get("family")
    if not isinstance(family, str) or not ID_PATTERN.match(family):
        log.error(line_of(doc, "family") or 1, "`family:` must be a lowercase id",
                  "write e.g. `family: monitoring`")
        return None, []
    nodes = doc.get("modules")
    if not isinstance(nodes, list):
        log.error(line_of(doc, "modules") or 1, "`modules:` must be a list of modules")
        return None, []
    modules = []
    lines = item_lines(nodes)
    for index, node in enumerate(nodes):
        module = _parse_module(node, family, file, log, lines[index])
        if module is not None:
            modules.append(module)
    title = doc.get("title") or family.replace("-", " ").capitalize()
    return Family(family, str(title), str(doc.get("description", "")),
                  tuple(m.id for m in modules), file), modules


def _parse_module(node: Any, family: str, file: str, log: ProblemLog,
                  line: int | None) -> Module | None:
    if not isinstance(node, dict):
        log.error(line, "each module must be a mapping with id, name, kind and price")
        return None
    lines = key_lines(node)
    for key in node:
        if key not in MODULE_KEYS:
            log.error(lines.get(key) or line, f"unknown key `{key}` in a module",
                      " ".join(filter(None, [suggest(key, MODULE_KEYS),
                                             f"allowed: {', '.join(MODULE_KEYS)}"])))
    module_id = node.get("id")
    if not isinstance(module_id, str) or not ID_PATTERN.match(module_id):
        log.error(lines.get("id") or line, "a module needs an `id` in lowercase letters, digits "
                  "and dashes", "add e.g. `id: temp-sensor-pack`")
        return None
    ok = True
    for key in ("name", "description"):
        if key == "name" and not isinstance(node.get(key), str):
            log.error(lines.get(key) or line, f"module `{module_id}` needs a `{key}`")
            ok = False
    kind = node.get("kind")
    if kind not in KINDS:
        log.error(lines.get("kind") or line, f"module `{module_id}` has kind {kind!r}",
                  " ".join(filter(None, [suggest(kind, KINDS), f"use one of: {', '.join(KINDS)}"])))
        ok = False
    price = _parse_price(node.get("price"), module_id, log, lines.get("price") or line)
    lists = {}
    for key in ("requires", "excludes", "benefits"):
        value = node.get(key, []) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            log.error(lines.get(key) or line, f"`{key}` of module `{module_id}` must be a list "
                      "of strings", f"write `{key}: [a, b]`")
            value = []
        lists[key] = tuple(map(str, value))
    if price is None or not ok:
        return None
    return Module(module_id, family, str(node["name"]), kind, str(node.get("description", "")),
                  price, lists["requires"], lists["excludes"], lists["benefits"], file, line)


def _parse_price(node: Any, module_id: str, log: ProblemLog, line: int | None) -> Price | None:
    if not isinstance(node, dict):
        log.error(line, f"module `{module_id}` needs `price: {{amount, currency, per, billing}}`",
                  "write `price: {amount: 45, currency: USD, per: unit, billing: one_time}`")
        return None
    for key in node:
        if key not in PRICE_KEYS:
            log.error(line_of(node, key) or line, f"unknown key `{key}` in the price of `{module_id}`",
                      " ".join(filter(None, [suggest(key, PRICE_KEYS),
                                             f"allowed: {', '.join(PRICE_KEYS)}"])))
    amount = node.get("amount")
    try:
        if isinstance(amount, bool) or not isinstance(amount, (int, float, str)):
            raise InvalidOperation
        value = Decimal(str(amount))
        if not value.is_finite() or value < 0:
            raise InvalidOperation
    except InvalidOperation:
        log.error(line_of(node, "amount") or line, f"price amount of `{module_id}` must be a "
                  f"number of at least 0, not {amount!r}", "write e.g. `amount: 45`")
        return None
    if value >= MAX_PRICE:
        log.error(line_of(node, "amount") or line, f"price amount of `{module_id}` must be "
                  f"below {MAX_PRICE:,}, not {amount!r}", "write the price of one unit")
        return None
    currency = node.get("currency")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        log.error(line_of(node, "currency") or line, f"currency of `{module_id}` must be a "
                  "three-letter code", "write e.g. `currency: USD`")
        return None
    billing = node.get("billing")
    if billing not in BILLINGS:
        log.error(line_of(node, "billing") or line, f"billing of `{module_id}` is {billing!r}",
                  " ".join(filter(None, [suggest(billing, BILLINGS),
                                         f"use one of: {', '.join(BILLINGS)}"])))
        return None
    return Price(value, currency, str(node.get("per", "unit")), billing)


def check_catalog(families: list[Family], modules: list[Module],
                  logs: dict[str, ProblemLog]) -> Catalog:
    by_id: dict[str, Module] = {}
    fams: dict[str, Family] = {}
    for family in families:
        if family.id in fams:
            logs[family.file].error(1, f"family `{family.id}` is also defined in "
                                    f"{fams[family.id].file}", "use one file per family")
        fams[family.id] = family
    for module in modules:
        if module.id in by_id:
            other = by_id[module.id]
            logs[module.file].error(module.line, f"module id `{module.id}` is already used at "
                                    f"{other.file}:{other.line}", "give every module a unique id")
            continue
        by_id[module.id] = module
    for module in by_id.values():
        log = logs[module.file]
        for key in ("requires", "excludes"):
            for target in getattr(module, key):
                if target not in by_id:
                    log.error(module.line, f"`{module.id}` {key} `{target}`, which is not in the "
                              "catalog", suggest(target, by_id) or "check the module id")
                elif target == module.id:
                    log.error(module.line, f"`{module.id}` {key} itself", f"remove it from {key}")
        both = set(module.requires) & set(module.excludes)
        for target in sorted(both):
            log.error(module.line, f"`{module.id}` both requires and excludes `{target}`",
                      "keep one of the two")
    for cycle in _requires_cycles(by_id):
        first = by_id[cycle[0]]
        logs[first.file].error(first.line, "`requires` forms a cycle: " + " -> ".join(cycle),
                               "remove one of these requires so the chain ends")
    currencies = {m.price.currency for m in by_id.values()}
    if len(currencies) > 1:
        first = next(iter(by_id.values()))
        logs[first.file].error(first.line, "the catalog mixes currencies: "
                               + ", ".join(sorted(currencies)), "price every module in one currency")
    for code in sorted(c for c in currencies if not CURRENCIES.valid(c)):
        first = next(m for m in by_id.values() if m.price.currency == code)
        logs[first.file].warning(first.line, f"the currency `{code}` of `{first.id}` is not an "
                                 "ISO 4217 currency code", CURRENCIES.hint(code))
    currency = min(currencies) if currencies else "USD"
    return Catalog(fams, by_id, currency)


def _requires_cycles(modules: dict[str, Module]) -> list[list[str]]:
    cycles, state = [], {}   # state: 1 visiting, 2 done

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in modules[node].requires:
            if target not in modules:
                continue
            if state.get(target) == 1:
                cycles.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[node] = 2

    for module_id in sorted(modules):
        if module_id not in state:
            visit(module_id, [module_id])
    return cycles
