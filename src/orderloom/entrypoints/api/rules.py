"""/v1/rules: rule set versions (compiled and type-checked on upload), activation, gray release, rollback, dry run."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Annotated, Any

import msgspec
import yaml
from fastapi import APIRouter, Body, Query, Request
from starlette.responses import Response

from orderloom.application.rules import RuleVersionNotFound
from orderloom.application.rules_dry_run import dry_run
from orderloom.bootstrap import utc_now
from orderloom.domain.custom_fields import SchemaInvalid
from orderloom.domain.rules import KINDS, Decision, RuleSetInvalid, RuleSetVersion
from orderloom.entrypoints.api.auth import Tenant, container_of
from orderloom.entrypoints.api.problems import Problem

__all__ = ["parse_since", "router", "version_yaml"]

router = APIRouter(prefix="/v1/rules", tags=["rules"])
_SINCE = re.compile(r"^(\d{1,4})([dhw])$")
_EXAMPLE = {
    "description": "Hold big orders",
    "rules": [{"id": "big-order", "when": "order.grand_total > 5000.0", "then": ["hold('over 5000')"], "priority": 10}],
}


def _json(body: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(body), status_code=status, media_type="application/json")


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise Problem(404, "unknown-rule-kind", f"no rule kind {kind!r}; one of {', '.join(KINDS)}")
    return kind


def _invalid(exc: RuleSetInvalid) -> Problem:
    return Problem(422, "rule-set-invalid", str(exc), errors=[p.as_dict() for p in exc.problems])


def _actor(request: Request) -> str:
    return "api-key:" + request.headers.get("authorization", "").partition(" ")[2].strip()[:10]


def _version_dict(v: RuleSetVersion, active: int | None = None) -> dict[str, Any]:
    return {
        "kind": v.kind,
        "version": v.version,
        "status": v.status,
        "active": v.version == active,
        "created_at": v.created_at,
        "created_by": v.created_by,
        "checksum": v.checksum,
        "note": v.note,
        "document": v.document,
    }


def version_yaml(v: RuleSetVersion) -> str:
    """A version as a YAML file for git (kind and version in a header comment)."""
    header = f"# orderloom rule set: kind={v.kind} version={v.version} status={v.status} sha256={v.checksum}\n"
    return header + yaml.safe_dump({"kind": v.kind, **v.document}, sort_keys=False, allow_unicode=True)


def parse_since(text: str) -> timedelta:
    """``30d``, ``12h`` or ``2w`` as a timedelta."""
    match = _SINCE.match(text.strip())
    if not match:
        raise ValueError(f"since must look like 30d, 12h or 2w, not {text!r}")
    n, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=n), "h": timedelta(hours=n), "w": timedelta(weeks=n)}[unit]


async def _document(request: Request) -> Any:
    raw = await request.body()
    content_type = request.headers.get("content-type", "application/json")
    try:
        if "yaml" in content_type:
            return yaml.safe_load(raw)
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, yaml.YAMLError) as exc:
        raise Problem(400, "malformed-body", f"the rule set is not valid JSON/YAML: {exc}") from None


@router.get("/custom-fields", summary="The tenant's custom order fields (JSON Schema)")
async def get_custom_fields(request: Request, tenant_id: Tenant) -> Response:
    """404 when none are declared."""
    schema = await asyncio.to_thread(container_of(request).rules.custom_fields, tenant_id=tenant_id)
    if schema is None:
        raise Problem(404, "not-found", "no custom fields declared for this tenant")
    return _json(schema)


@router.put("/custom-fields", summary="Declare the tenant's custom order fields (JSON Schema subset)")
async def put_custom_fields(
    request: Request,
    tenant_id: Tenant,
    schema: Annotated[
        dict[str, Any],
        Body(examples=[{"type": "object", "properties": {"po_number": {"type": "string", "pattern": "^PO-"}}}]),
    ],
) -> Response:
    """Orders are checked against it on intake (failures → on_hold.validation_failed); 422 for a bad schema."""
    rules = container_of(request).rules
    try:
        stored = await asyncio.to_thread(
            rules.set_custom_fields, tenant_id=tenant_id, schema=schema, actor=_actor(request)
        )
    except SchemaInvalid as exc:
        raise Problem(422, "custom-fields-invalid", str(exc)) from None
    return _json(stored)


@router.get("/templates", summary="The tenant's order templates")
async def list_templates(request: Request, tenant_id: Tenant) -> Response:
    """Each with its required custom fields and defaults."""
    templates = await asyncio.to_thread(container_of(request).rules.templates, tenant_id=tenant_id)
    return _json({"items": [t.as_dict() for t in templates]})


@router.put("/templates/{name}", summary="Store an order template (B2B wholesale, presale, subscription …)")
async def put_template(
    request: Request,
    tenant_id: Tenant,
    name: str,
    document: Annotated[
        dict[str, Any], Body(examples=[{"required": ["po_number"], "defaults": {"payment_terms": "net30"}}])
    ],
) -> Response:
    """An order uses it with the custom field ``template``: its required fields are checked on intake."""
    rules = container_of(request).rules
    try:
        template = await asyncio.to_thread(
            rules.set_template, tenant_id=tenant_id, name=name, document=document, actor=_actor(request)
        )
    except SchemaInvalid as exc:
        raise Problem(422, "template-invalid", str(exc)) from None
    return _json(template.as_dict())


@router.get("/toggles", summary="The rules engine's feature toggles")
async def list_toggles(request: Request, tenant_id: Tenant) -> Response:
    """Every known toggle (on unless switched)."""
    toggles = await asyncio.to_thread(container_of(request).rules.toggles, tenant_id=tenant_id)
    return _json({"items": [t.as_dict() for t in toggles]})


class ToggleBody(msgspec.Struct, forbid_unknown_fields=True):
    """A toggle's targeting: on/off, a share of orders (stable hash of the order id), some channels."""

    enabled: bool
    percent: float = 100.0
    channels: list[str] = []


@router.put("/toggles/{name}", summary="Switch a rules engine feature (same targeting as gray releases)")
async def put_toggle(
    request: Request,
    tenant_id: Tenant,
    name: str,
    body: Annotated[dict[str, Any], Body(examples=[{"enabled": True, "percent": 10, "channels": ["pos"]}])],
) -> Response:
    """Audited; 422 for an unknown toggle or a bad percentage."""
    try:
        parsed = msgspec.convert(body, ToggleBody)
    except msgspec.ValidationError as exc:
        raise Problem(422, "validation-error", str(exc)) from None
    rules = container_of(request).rules
    try:
        toggle = await asyncio.to_thread(
            rules.set_toggle,
            tenant_id=tenant_id,
            name=name,
            enabled=parsed.enabled,
            actor=_actor(request),
            percent=parsed.percent,
            channels=parsed.channels,
        )
    except SchemaInvalid as exc:
        raise Problem(422, "validation-error", str(exc)) from None
    return _json(toggle.as_dict())


@router.post(
    "/{kind}/versions",
    status_code=201,
    summary="Store a new rule set version (compiled and type-checked unless draft)",
    openapi_extra={"requestBody": {"content": {"application/json": {"example": _EXAMPLE}, "application/yaml": {}}}},
)
async def create_version(
    request: Request,
    tenant_id: Tenant,
    kind: str,
    draft: Annotated[bool, Query()] = False,
    note: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """422 with rule id, line and column for syntax, type, action and conflict errors."""
    rules = container_of(request).rules
    document = await _document(request)
    try:
        version = await asyncio.to_thread(
            rules.create_version,
            tenant_id=tenant_id,
            kind=_kind(kind),
            document=document,
            actor=_actor(request),
            draft=draft,
            note=note,
        )
    except RuleSetInvalid as exc:
        raise _invalid(exc) from None
    return _json(_version_dict(version), 201)


@router.get("/{kind}/versions", summary="List the versions of a rule set")
async def list_versions(request: Request, tenant_id: Tenant, kind: str) -> Response:
    """Oldest first, with the active one marked."""
    rules = container_of(request).rules
    versions = await asyncio.to_thread(rules.store.list_versions, tenant_id, _kind(kind))
    act = await asyncio.to_thread(rules.store.activation, tenant_id, kind)
    active = act.version if act else None
    return _json({"items": [_version_dict(v, active) for v in versions], "activation": act.as_dict() if act else None})


@router.get("/{kind}/versions/{version}", summary="One rule set version (JSON, or YAML with ?format=yaml)")
async def get_version(
    request: Request, tenant_id: Tenant, kind: str, version: int, format: Annotated[str, Query()] = "json"
) -> Response:
    """The stored, immutable document."""
    rules = container_of(request).rules
    try:
        found = await asyncio.to_thread(rules.get_version, tenant_id=tenant_id, kind=_kind(kind), version=version)
    except RuleVersionNotFound as exc:
        raise Problem(404, "rule-version-not-found", str(exc)) from None
    if format == "yaml":
        return Response(version_yaml(found), media_type="application/yaml")
    act = await asyncio.to_thread(rules.store.activation, tenant_id, kind)
    return _json(_version_dict(found, act.version if act else None))


class ActivateBody(msgspec.Struct, forbid_unknown_fields=True):
    """Optional gray release: a percentage of orders (stable hash of the order id) and/or some channels."""

    percent: float | None = None
    channels: list[str] = []


@router.post("/{kind}/versions/{version}/activate", summary="Activate a version (fully, or as a gray release)")
async def activate(
    request: Request,
    tenant_id: Tenant,
    kind: str,
    version: int,
    body: Annotated[dict[str, Any] | None, Body(examples=[{"percent": 10, "channels": ["shopify"]}])] = None,
) -> Response:
    """Exactly one active version per kind; the change is audited. 404 unknown version, 422 draft/invalid."""
    try:
        parsed = msgspec.convert(body or {}, ActivateBody)
    except msgspec.ValidationError as exc:
        raise Problem(422, "validation-error", str(exc)) from None
    rules = container_of(request).rules
    try:
        act = await asyncio.to_thread(
            rules.activate,
            tenant_id=tenant_id,
            kind=_kind(kind),
            version=version,
            actor=_actor(request),
            percent=parsed.percent,
            channels=parsed.channels,
        )
    except RuleVersionNotFound as exc:
        raise Problem(404, "rule-version-not-found", str(exc)) from None
    except RuleSetInvalid as exc:
        raise _invalid(exc) from None
    return _json(act.as_dict())


@router.get("/{kind}/history", summary="Audited activations and rollbacks of a rule set")
async def history(request: Request, tenant_id: Tenant, kind: str) -> Response:
    """Oldest first: when, who, what was active before and after (from the hash-chained audit log)."""
    items = await asyncio.to_thread(container_of(request).rules.store.history, tenant_id, _kind(kind))
    return _json({"items": items})


@router.post("/{kind}/rollback", summary="End a gray release, or go back to the previously active version")
async def rollback(request: Request, tenant_id: Tenant, kind: str) -> Response:
    """Audited like an activation; 404 when there is nothing to go back to."""
    rules = container_of(request).rules
    try:
        act = await asyncio.to_thread(rules.rollback, tenant_id=tenant_id, kind=_kind(kind), actor=_actor(request))
    except RuleVersionNotFound as exc:
        raise Problem(404, "rule-version-not-found", str(exc)) from None
    return _json(act.as_dict())


@router.post("/{kind}/versions/{version}/dry-run", summary="Compare a version with the active one on past orders")
async def dry_run_version(
    request: Request,
    tenant_id: Tenant,
    kind: str,
    version: int,
    since: Annotated[str, Query()] = "30d",
    examples: Annotated[int, Query(ge=0, le=100)] = 10,
) -> Response:
    """How many orders would change outcome, examples, and the hold-rate change. Writes nothing."""
    container = container_of(request)
    try:
        start = utc_now() - parse_since(since)
    except ValueError as exc:
        raise Problem(422, "validation-error", str(exc), errors=[{"field": "since", "message": str(exc)}]) from None
    history = container.rules.history
    assert history is not None
    try:
        report = await asyncio.to_thread(
            dry_run,
            rules=container.rules,
            history=history,
            tenant_id=tenant_id,
            kind=_kind(kind),
            version=version,
            since=start,
            max_examples=examples,
        )
    except RuleVersionNotFound as exc:
        raise Problem(404, "rule-version-not-found", str(exc)) from None
    except RuleSetInvalid as exc:
        raise _invalid(exc) from None
    return _json(report.as_dict())


@router.get("/{kind}/evaluate/{order_id}", summary="What a rule set decides for one stored order (writes nothing)")
async def evaluate_order(
    request: Request,
    tenant_id: Tenant,
    kind: str,
    order_id: str,
    version: Annotated[int | None, Query(description="default: the version this order gets (active or gray)")] = None,
) -> Response:
    """The decision with the rules that fired and why; ``decision`` is null when nothing is active."""
    container = container_of(request)
    rules = container.rules
    _kind(kind)

    def run() -> dict[str, Any]:
        document = container.queries.get_document(tenant_id, order_id)
        context = rules.context_for(tenant_id=tenant_id, document=document)
        decision: Decision | None
        if version is not None:
            decision = rules.compiled(tenant_id=tenant_id, kind=kind, version=version).evaluate(context)
        else:
            decision = rules.evaluate(
                tenant_id=tenant_id, kind=kind, context=context, order_id=order_id, channel=document["channel"]
            )
        return {"order_id": order_id, "decision": None if decision is None else decision.as_dict()}

    try:
        return _json(await asyncio.to_thread(run))
    except RuleVersionNotFound as exc:
        raise Problem(404, "rule-version-not-found", str(exc)) from None
    except RuleSetInvalid as exc:
        raise _invalid(exc) from None
