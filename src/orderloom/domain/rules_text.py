"""Natural-language authoring, first step: a small English/Chinese grammar → a CEL rule draft (no model calls).

``amount > 5000 and customer tier is diamond → VIP line and reserve SF Express`` and
``金额大于5000且客户等级是钻石 → VIP专线并预约顺丰`` give the same draft. Anything the grammar can't read is an
error that names the phrase.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from orderloom.domain.rules import ACTIONS, parse_action

__all__ = ["CARRIERS", "draft_from_text"]

CARRIERS = {
    "sf express": "SF Express",
    "sf": "SF Express",
    "顺丰": "SF Express",
    "jd logistics": "JD Logistics",
    "jd": "JD Logistics",
    "京东": "JD Logistics",
    "zto": "ZTO Express",
    "中通": "ZTO Express",
    "yto": "YTO Express",
    "圆通": "YTO Express",
    "ems": "EMS",
    "dhl": "DHL",
    "ups": "UPS",
    "fedex": "FedEx",
}
TIERS = {"钻石": "diamond", "金": "gold", "黄金": "gold", "银": "silver", "白银": "silver", "普通": "regular"}
_ARROW = re.compile(r"\s*(?:→|->|=>|\bthen\b|\uff0c?则|\uff0c?就)\s*")
_AND = re.compile(r"\s*(?:\band\b|并且|而且|且|并|和|&&|,|\uff0c|、)\s*")
_OPS = [
    (r">=|≥|at least|不少于|至少", ">="),
    (r"<=|≤|at most|不超过|至多", "<="),
    (r">|is over|over|above|is above|greater than|more than|exceeds|大于|超过|高于|多于", ">"),
    (r"<|is under|under|below|less than|小于|低于|少于", "<"),
    (r"==|=|is|equals|等于|是|为", "=="),
]
_OP = "|".join(p for p, _ in _OPS)
_AMOUNT_ZH = "金额|订单金额|总额|实付金额|实付"
_NUM = r"(\d+(?:\.\d+)?)\s*(?:元|块|rmb|cny|usd|\$)?"


def _op(word: str) -> str:
    word = word.strip().lower()
    return next(cel for pattern, cel in _OPS if re.fullmatch(pattern, word))


def _q(value: str) -> str:
    return '"' + value.replace('"', "") + '"'


_Cond = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]
_CONDITIONS: list[_Cond] = [
    (
        re.compile(rf"^(?:order )?(?:amount|total|grand total|order total|{_AMOUNT_ZH})\s*({_OP})\s*{_NUM}$"),
        lambda m: f"order.grand_total {_op(m.group(1))} {float(m.group(2))!r}",
    ),
    (
        re.compile(rf"^(?:any )?(?:line )?(?:quantity|qty|数量|件数)\s*({_OP})\s*(\d+)$"),
        lambda m: f"lines.exists(l, l.quantity {_op(m.group(1))} {int(m.group(2))})",
    ),
    (
        re.compile(rf"^(?:line count|lines|行数|商品种类)\s*({_OP})\s*(\d+)$"),
        lambda m: f"order.line_count {_op(m.group(1))} {int(m.group(2))}",
    ),
    (
        re.compile(r"^(?:customer )?(?:tier|level|客户等级|会员等级|等级)\s*(?:is|=|==|是|为)\s*(\S+?)(?:会员|客户)?$"),
        lambda m: f"customer.tier == {_q(TIERS.get(m.group(1), m.group(1).lower()))}",
    ),
    (
        re.compile(r"^(?:channel|渠道|平台)\s*(?:is|=|==|是|为)\s*(\S+)$"),
        lambda m: f"order.channel == {_q(m.group(1).lower())}",
    ),
    (
        re.compile(r"^(?:shipping )?(?:country|收货国家|国家)\s*(?:is|=|==|是|为)\s*(\S+)$"),
        lambda m: f"shipping.country == {_q(_country(m.group(1)))}",
    ),
    (
        re.compile(r"^(?:tagged|tag is|has tag|标签是|带有标签|标签为)\s*(\S+)$"),
        lambda m: f"{_q(m.group(1).lower())} in order.tags",
    ),
    (re.compile(r"^(?:first order|new customer|首单|新客户|新客)$"), lambda m: "customer.is_first_order"),
    (
        re.compile(r"^(?:phone is missing|no phone|missing phone|缺少电话|没有电话|无电话)$"),
        lambda m: 'shipping.phone == ""',
    ),
]


def _country(word: str) -> str:
    return {"中国": "CN", "china": "CN", "美国": "US", "usa": "US"}.get(word.lower(), word.upper())


_ACTIONS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"^(?:reserve|use|prefer|ship with|预约|使用|用|走)\s*(.+?)(?:快递|物流)?$"),
        lambda m: f"prefer_carrier({_q(_carrier(m.group(1)))})",
    ),
    (re.compile(r"^(?:vip line|vip专线|vip通道)$"), lambda m: 'add_tag("vip_line")'),
    (
        re.compile(r"^(?:route to|ship from|从)\s*(\S+?)(?:发货|仓)?$"),
        lambda m: f"route_to({_q(m.group(1).upper())})",
    ),
    (
        re.compile(
            r"^(?:require approval(?: from| by)?|needs? approval(?: from| by)?|需要|需)\s*(\S+?)\s*(?:审批|批准)?$"
        ),
        lambda m: f"require_approval({_q(m.group(1).lower())})",
    ),
    (
        re.compile(r"^(?:add tag|tag|tag as|打标签|标记为?)\s*(\S+)$"),
        lambda m: f"add_tag({_q(m.group(1).lower())})",
    ),
    (re.compile(r"^(?:hold|put on hold|manual review|暂停|挂起|人工审核|拦截)$"), lambda m: "hold(REASON)"),
    (re.compile(r"^(?:reject|fail|拒绝|校验失败)$"), lambda m: "fail(REASON)"),
]


def _carrier(word: str) -> str:
    key = word.strip().lower()
    if key not in CARRIERS:
        raise ValueError(f"unknown carrier {word.strip()!r} (known: {', '.join(sorted(set(CARRIERS.values())))})")
    return CARRIERS[key]


def _match(table: list[Any], phrase: str, what: str) -> str:
    text = phrase.strip().lower()
    for pattern, build in table:
        m = pattern.match(text)
        if m:
            result: str = build(m)
            return result
    raise ValueError(f"can't read the {what} {phrase.strip()!r}")


def _kind_for(actions: list[str]) -> str:
    for kind in ("hold", "validation", "routing"):
        try:
            for action in actions:
                parse_action(kind, action)
        except ValueError:
            continue
        return kind
    raise ValueError("these actions don't belong to one rule kind: " + ", ".join(actions))


def draft_from_text(text: str, *, kind: str | None = None) -> tuple[str, dict[str, Any]]:
    """(kind, rule set document) drafted from one sentence ``conditions → actions``; ValueError if unreadable."""
    parts = _ARROW.split(text.strip(), maxsplit=1)
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ValueError("write the rule as 'conditions → actions' (or 'if … then …', '… 则 …')")
    condition_text = re.sub(r"^(?:if|when|如果|当)\s*", "", parts[0].strip(), flags=re.IGNORECASE)
    conditions = [_match(_CONDITIONS, c, "condition") for c in _AND.split(condition_text) if c.strip()]
    reason = f"rule: {condition_text}"
    actions = [_match(_ACTIONS, a, "action").replace("REASON", _q(reason)) for a in _AND.split(parts[1]) if a.strip()]
    chosen = kind or _kind_for(actions)
    if chosen not in ACTIONS:
        raise ValueError(f"unknown rule kind {chosen!r}")
    for action in actions:
        parse_action(chosen, action)  # names an action that does not fit the requested kind
    rule = {
        "id": "from-text-1",
        "when": " && ".join(conditions),
        "then": actions,
        "note": f"drafted from text: {text.strip()}",
    }
    return chosen, {"description": f"draft from text: {text.strip()}", "rules": [rule]}
