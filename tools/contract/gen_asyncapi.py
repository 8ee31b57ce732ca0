#!/usr/bin/env python3
"""Builds docs/asyncapi.yaml, the AsyncAPI 3.1 description of the Backorders event topics.

Everything about the messages (names, fields, numbers, types, comments) comes from the protos:
protoc compiles proto/backorder/v1/events.proto (and what it imports) into a descriptor set with
source info, and the generator walks it. Only the topic table below is written by hand: which
payloads go to which topic, under which Kafka key, in which aggregate stream. The generator checks
that table against the catalogue and fails when they disagree:
  * every payload case of EventEnvelope.payload is on exactly one topic, and nothing else is;
  * a case's field name is its message name in snake_case (EventEnvelope.type names the message);
  * every key field exists in its payload and is a string;
  * the topics are those of services/common/topics.h;
  * every message, field and enum value a subscriber receives has a comment.

  tools/contract/gen_asyncapi.py            # rewrite docs/asyncapi.yaml
  tools/contract/gen_asyncapi.py --check    # exit 1 (with a diff) if it is not what the protos give

Needs protoc (Debian's protobuf-compiler; PROTOC overrides) and the Python packages of
tools/contract/requirements.txt, which tools/contract/setup.sh installs into var/contract-venv
(this script re-runs itself with that venv's Python when started with another one).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("BO_CONTRACT_VENV", REPO / "var" / "contract-venv"))

try:
    import yaml
    from google.protobuf import descriptor_pb2
except ImportError:  # not in the venv: run again with its Python
    venv_python = VENV / "bin" / "python"
    if venv_python.exists() and Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(venv_python), [str(venv_python), *sys.argv])
    sys.exit("gen_asyncapi: needs protobuf and PyYAML: run tools/contract/setup.sh first")

OUTPUT = REPO / "docs" / "asyncapi.yaml"
PROTO_ROOT = REPO / "proto"
EVENTS_PROTO = "backorder/v1/events.proto"
PACKAGE = "backorder.v1"
ENVELOPE = f"{PACKAGE}.EventEnvelope"
PAYLOAD_ONEOF = "payload"
TOPICS_H = REPO / "services" / "common" / "topics.h"
PARTITIONS = 6  # bo-admin create-topics default (services/common/topics.h EventTopics)
KAFKA_BINDING = "0.5.0"


# ---- the hand-written part: topic -> (payloads, key, aggregate stream) -----------------------


@dataclasses.dataclass(frozen=True)
class Events:
    """Payloads published on one topic under one kind of key."""

    names: tuple[str, ...]
    # Payload field paths whose values, joined by "/", make the Kafka record key.
    key: tuple[str, ...]
    # Why that key: what it keeps in order.
    why: str
    # The envelope's aggregate_id: the stream the event belongs to in the producing service.
    aggregate: str


@dataclasses.dataclass(frozen=True)
class Topic:
    address: str
    service: str  # owning service; ce_source is "/backorders/<service>"
    summary: str
    events: tuple[Events, ...]


BRANCH_PART = "one (branch, part) stock ledger's events stay in order on one partition"
TOPICS = (
    Topic(
        "backorder.debtor-query.v1",
        "debtor-query",
        "Changes to the debtor master file (the debtor-query service is its single writer).",
        (
            Events(("DebtorUpdated",), ("debtor_id",), "one debtor's changes stay in order",
                   "debtor/<debtor_id>"),
        ),
    ),
    Topic(
        "backorder.invoicing.v1",
        "invoicing",
        "Finalised customer invoices and the back-order decisions of invoicing: back orders "
        "created, invoiced and cancelled, and lost sales.",
        (
            Events(("BackorderCreated", "BackorderCancelled", "BackorderInvoiced"),
                   ("context.branch_id", "context.part_number"),
                   "a back order's creation, invoicing and cancellation reach receiving in order, "
                   "among the other events of its branch's stock of that part",
                   "backorder/<context.backorder_id>"),
            Events(("LostSaleRecorded",), ("branch_id", "part_number"), BRANCH_PART,
                   "invoice/<invoice_id>"),
            Events(("InvoiceFinalised", "InvoiceSaved"), ("branch_id", "invoice_id"),
                   "one invoice's events stay in order", "invoice/<invoice_id>"),
        ),
    ),
    Topic(
        "backorder.purchasing.v1",
        "purchasing",
        "Stock orders placed with suppliers (the back orders they cover are now on order), and "
        "the drafts before them.",
        (
            Events(("StockOrderPlaced", "StockOrderOpened", "StockOrderDrafted"),
                   ("stock_order_id",),
                   "one stock order's events stay in order", "stockorder/<stock_order_id>"),
        ),
    ),
    Topic(
        "backorder.receiving.v1",
        "receiving",
        "The part master and every change to a branch's stock of a part: adjustments, receipts "
        "from suppliers, holds for draft invoice lines, issues, and stock set aside for waiting "
        "back orders (BackorderFilled).",
        (
            Events(("PartUpdated",), ("part_number",), "one part's changes stay in order",
                   "part/<part_number>"),
            Events(("StockAdjusted", "StockReceived", "StockHeld", "StockHoldReleased",
                    "StockIssued"), ("branch_id", "part_number"), BRANCH_PART,
                   "ledger/<branch_id>/<part_number>"),
            Events(("BackorderFilled", "BackorderRegistered", "BackorderReleased"),
                   ("context.branch_id", "context.part_number"), BRANCH_PART,
                   "ledger/<context.branch_id>/<context.part_number>"),
        ),
    ),
)

# Example values for the key schemas (ids as the services give them, services.md).
EXAMPLES = {
    "branch_id": "B1",
    "part_number": "OIL-FILTER-1",
    "invoice_id": "INV-B1-000001",
    "stock_order_id": "SO-B1-000001",
    "debtor_id": "D-1001",
}
# CheckId (services/common/command_support.h): 1 to 64 letters, digits and - _ . : (never '/').
ID_PATTERN = "[A-Za-z0-9._:-]{1,64}"
LOCAL_BROKER = "127.0.0.1:19092"


# ---- reading the protos ----------------------------------------------------------------------


class ContractError(Exception):
    pass


def compile_protos() -> descriptor_pb2.FileDescriptorSet:
    protoc = os.environ.get("PROTOC", "protoc")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "events.pb"
        cmd = [protoc, f"--proto_path={PROTO_ROOT}", "--include_imports", "--include_source_info",
               f"--descriptor_set_out={out}", EVENTS_PROTO]
        try:
            subprocess.run(cmd, check=True, cwd=PROTO_ROOT)
        except FileNotFoundError:
            raise ContractError(f"{protoc} not found: install protobuf-compiler (tools/setup)")
        except subprocess.CalledProcessError as e:
            raise ContractError(f"protoc failed ({e.returncode}): {' '.join(cmd)}")
        fds = descriptor_pb2.FileDescriptorSet()
        fds.ParseFromString(out.read_bytes())
        return fds


def clean_comment(text: str) -> str:
    lines = [line[1:] if line.startswith(" ") else line for line in text.strip("\n").split("\n")]
    return "\n".join(line.rstrip() for line in lines).strip()


@dataclasses.dataclass
class Field:
    name: str
    number: int
    label: int
    type: int
    type_name: str  # fully qualified, without the leading dot
    oneof: str | None
    comment: str


@dataclasses.dataclass
class Message:
    full_name: str
    file: str
    comment: str
    fields: list[Field]
    oneof_comments: dict[str, str]


@dataclasses.dataclass
class Enum:
    full_name: str
    file: str
    comment: str
    values: list[tuple[str, int, str]]


class Catalogue:
    def __init__(self, fds: descriptor_pb2.FileDescriptorSet):
        self.messages: dict[str, Message] = {}
        self.enums: dict[str, Enum] = {}
        for f in fds.file:
            comments = {}
            for loc in f.source_code_info.location:
                text = "\n\n".join(
                    c for c in (clean_comment(loc.leading_comments),
                                clean_comment(loc.trailing_comments)) if c)
                comments[tuple(loc.path)] = text
            for i, m in enumerate(f.message_type):
                self._add_message(f, m, f.package, (4, i), comments)
            for i, e in enumerate(f.enum_type):
                self._add_enum(f, e, f.package, (5, i), comments)

    def _add_message(self, f, m, scope, path, comments):
        full = f"{scope}.{m.name}"
        fields = []
        for j, fd in enumerate(m.field):
            oneof = m.oneof_decl[fd.oneof_index].name if fd.HasField("oneof_index") else None
            fields.append(Field(fd.name, fd.number, fd.label, fd.type, fd.type_name.lstrip("."),
                                oneof, comments.get(path + (2, j), "")))
        oneofs = {o.name: comments.get(path + (8, k), "") for k, o in enumerate(m.oneof_decl)}
        self.messages[full] = Message(full, f.name, comments.get(path, ""), fields, oneofs)
        for j, nested in enumerate(m.nested_type):
            self._add_message(f, nested, full, path + (3, j), comments)
        for j, e in enumerate(m.enum_type):
            self._add_enum(f, e, full, path + (4, j), comments)

    def _add_enum(self, f, e, scope, path, comments):
        full = f"{scope}.{e.name}"
        values = [(v.name, v.number, comments.get(path + (2, j), ""))
                  for j, v in enumerate(e.value)]
        self.enums[full] = Enum(full, f.name, comments.get(path, ""), values)


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def payload_cases(cat: Catalogue) -> list[Field]:
    env = cat.messages[ENVELOPE]
    return [f for f in env.fields if f.oneof == PAYLOAD_ONEOF]


def resolve_path(cat: Catalogue, message: str, path: str) -> Field:
    current = cat.messages[message]
    parts = path.split(".")
    for i, part in enumerate(parts):
        field = next((f for f in current.fields if f.name == part), None)
        if field is None:
            raise ContractError(f"key field {path}: {current.full_name} has no field {part}")
        if i + 1 < len(parts):
            if field.type != descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE:
                raise ContractError(f"key field {path}: {part} is not a message")
            current = cat.messages[field.type_name]
    if (field.type != descriptor_pb2.FieldDescriptorProto.TYPE_STRING
            or field.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED):
        raise ContractError(f"key field {path} of {message} is not a single string")
    return field


def check_table(cat: Catalogue) -> dict[str, tuple[Topic, Events]]:
    """Checks the topic table against the catalogue; returns payload name -> (topic, events)."""
    problems = []
    cases = payload_cases(cat)
    if not cases:
        raise ContractError(f"{ENVELOPE} has no oneof {PAYLOAD_ONEOF}")
    placed: dict[str, list[str]] = {}
    where: dict[str, tuple[Topic, Events]] = {}
    for topic in TOPICS:
        for group in topic.events:
            for name in group.names:
                placed.setdefault(name, []).append(topic.address)
                where[name] = (topic, group)
    case_names = set()
    for case in cases:
        short = case.type_name.removeprefix(PACKAGE + ".")
        case_names.add(short)
        if case.type != descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE:
            problems.append(f"payload case {case.name} is not a message")
            continue
        if case.name != snake_case(short):
            problems.append(f"payload case {case.name} carries {short}: name it {snake_case(short)}")
        topics = placed.get(short, [])
        if len(topics) != 1:
            problems.append(f"payload {short} (EventEnvelope.{case.name} = {case.number}) is "
                            f"placed {len(topics)} times {topics} in the topic table of "
                            f"{Path(__file__).name}; it must be on exactly one topic")
    for name in sorted(set(placed) - case_names):
        problems.append(f"the table names {name}, which is not a case of "
                        f"EventEnvelope.{PAYLOAD_ONEOF}")
    for name, (topic, group) in sorted(where.items()):
        if name not in case_names:
            continue
        for path in group.key:
            try:
                resolve_path(cat, f"{PACKAGE}.{name}", path)
            except ContractError as e:
                problems.append(str(e))
    addresses = [t.address for t in TOPICS]
    if TOPICS_H.exists():
        declared = re.findall(r'constexpr char k\w+Topic\[\] = "([^"]+)"', TOPICS_H.read_text())
        if sorted(declared) != sorted(addresses):
            problems.append(f"topics in {TOPICS_H.relative_to(REPO)} {sorted(declared)} differ "
                            f"from the table {sorted(addresses)}")
    for t in TOPICS:
        if not re.fullmatch(rf"backorder\.{re.escape(t.service)}\.v\d+", t.address):
            problems.append(f"topic {t.address} is not backorder.{t.service}.v<N>")
    if problems:
        raise ContractError("the topic table and the protos disagree:\n  " + "\n  ".join(problems))
    return where


# ---- building the document -------------------------------------------------------------------

T = descriptor_pb2.FieldDescriptorProto
SCALARS = {
    T.TYPE_STRING: {"type": "string"},
    T.TYPE_BOOL: {"type": "boolean"},
    T.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
    T.TYPE_DOUBLE: {"type": "number", "format": "double"},
    T.TYPE_FLOAT: {"type": "number", "format": "float"},
    T.TYPE_INT32: {"type": "integer", "format": "int32"},
    T.TYPE_SINT32: {"type": "integer", "format": "int32"},
    T.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    T.TYPE_UINT32: {"type": "integer", "format": "int32", "minimum": 0},
    T.TYPE_FIXED32: {"type": "integer", "format": "int32", "minimum": 0},
    T.TYPE_INT64: {"type": "integer", "format": "int64"},
    T.TYPE_SINT64: {"type": "integer", "format": "int64"},
    T.TYPE_SFIXED64: {"type": "integer", "format": "int64"},
    T.TYPE_UINT64: {"type": "integer", "format": "int64", "minimum": 0},
    T.TYPE_FIXED64: {"type": "integer", "format": "int64", "minimum": 0},
}
PROTO_TYPE_NAMES = {v: k.removeprefix("TYPE_").lower()
                    for k, v in T.Type.items()}  # TYPE_INT64 -> "int64"
TIMESTAMP = "google.protobuf.Timestamp"


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


class Builder:
    def __init__(self, cat: Catalogue):
        self.cat = cat
        self.schemas: dict[str, dict] = {}
        self.problems: list[str] = []

    def need_comment(self, what: str, comment: str) -> str:
        if not comment:
            self.problems.append(f"{what} has no comment in the proto")
        return comment

    def field_schema(self, owner: str, f: Field) -> dict:
        if f.type in SCALARS:
            inner = dict(SCALARS[f.type])
            proto_type = PROTO_TYPE_NAMES[f.type]
        elif f.type == T.TYPE_ENUM:
            self.enum_schema(f.type_name)
            inner = ref(f.type_name)
            proto_type = f.type_name
        elif f.type == T.TYPE_MESSAGE:
            self.message_schema(f.type_name)
            inner = ref(f.type_name)
            proto_type = f.type_name
        else:
            raise ContractError(f"{owner}.{f.name}: unsupported field type {f.type}")
        if f.label == T.LABEL_REPEATED:
            schema = {"type": "array", "items": inner}
        elif "$ref" in inner:  # a Reference Object takes no siblings: wrap it
            schema = {"allOf": [inner]}
        else:
            schema = inner
        described = {"description": self.need_comment(f"{owner}.{f.name}", f.comment)}
        described.update(schema)
        described["x-protobuf-field"] = f.number
        described["x-protobuf-type"] = ("repeated " if f.label == T.LABEL_REPEATED else "") + \
            proto_type
        return described

    def enum_schema(self, name: str) -> None:
        if name in self.schemas:
            return
        e = self.cat.enums[name]
        lines = [self.need_comment(name, e.comment), ""]
        for value, number, comment in e.values:
            lines.append(f"- `{value}` ({number}): "
                         + self.need_comment(f"{name}.{value}", comment).replace("\n", " "))
        self.schemas[name] = {
            "title": name.rsplit(".", 1)[-1],
            "description": "\n".join(lines),
            "type": "string",
            "enum": [v for v, _, _ in e.values],
            "x-protobuf-enum": name,
            "x-protobuf-file": e.file,
        }

    def message_schema(self, name: str, skip_oneof: str | None = None) -> None:
        if name in self.schemas:
            return
        if name == TIMESTAMP:
            self.schemas[name] = {
                "title": "Timestamp",
                "description": "google.protobuf.Timestamp: seconds and nanoseconds since the Unix "
                               "epoch, UTC. Shown here in its JSON form, an RFC 3339 date-time.",
                "type": "string",
                "format": "date-time",
                "x-protobuf-message": name,
            }
            return
        if name not in self.cat.messages:
            raise ContractError(f"{name}: not in the descriptor set")
        m = self.cat.messages[name]
        self.schemas[name] = {}  # reserve (recursion)
        props = {}
        for f in m.fields:
            if skip_oneof and f.oneof == skip_oneof:
                continue
            props[f.name] = self.field_schema(name, f)
        self.schemas[name] = {
            "title": name.rsplit(".", 1)[-1],
            "description": self.need_comment(name, m.comment),
            "type": "object",
            "properties": props,
            "x-protobuf-message": name,
            "x-protobuf-file": m.file,
        }


def first_sentence(text: str) -> str:
    one_line = " ".join(text.split())
    m = re.match(r"(.+?[.!?])(\s|$)", one_line)
    return m.group(1) if m else one_line


def key_text(key: tuple[str, ...]) -> str:
    return "/".join(f"<{p}>" for p in key)


def build(cat: Catalogue) -> dict:
    where = check_table(cat)
    b = Builder(cat)
    cases = {c.type_name.removeprefix(PACKAGE + "."): c for c in payload_cases(cat)}
    envelope = cat.messages[ENVELOPE]
    b.message_schema(ENVELOPE, skip_oneof=PAYLOAD_ONEOF)
    oneof_list = "\n".join(f"- `{c.name}` ({c.number}): {n}" for n, c in cases.items())
    oneof_doc = b.need_comment(f"{ENVELOPE}.{PAYLOAD_ONEOF}",
                               envelope.oneof_comments.get(PAYLOAD_ONEOF, ""))
    b.schemas[ENVELOPE]["description"] += (
        f"\n\noneof `{PAYLOAD_ONEOF}`: {oneof_doc} Exactly one case is set; each message of "
        "this document adds its own:\n" + oneof_list)

    sources = [f"/backorders/{t.service}" for t in TOPICS]
    b.schemas["CloudEventsHeaders"] = {
        "title": "CloudEvents headers (Kafka protocol binding, binary content mode)",
        "description": (
            "Every record carries these Kafka headers (UTF-8 strings), so a subscriber can route "
            "and filter without decoding the value. They repeat envelope fields: ce_id = "
            "event_id, ce_type = type, ce_time = occurred_at. The record value is the "
            "CloudEvents data: a serialised backorder.v1.EventEnvelope. Further headers may "
            "be added; ignore the ones you do not know."),
        "type": "object",
        "required": ["ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time",
                     "content-type"],
        "properties": {
            "ce_specversion": {"description": "CloudEvents version.", "type": "string",
                               "const": "1.0"},
            "ce_id": {"description": "The envelope's event_id, a UUIDv7 (time ordered, lower "
                                     "case). Unique per event: deduplicate on it.",
                      "type": "string", "format": "uuid",
                      "examples": ["01938f6e-7b8a-7c3d-9e2f-4a5b6c7d8e9f"]},
            "ce_type": {"description": "The envelope's type: the payload message name, for "
                                       "example BackorderFilled.", "type": "string",
                        "enum": list(cases)},
            "ce_source": {"description": "The publishing service: /backorders/<service>.",
                          "type": "string", "enum": sources},
            "ce_time": {"description": "The envelope's occurred_at: RFC 3339, UTC, "
                                       "milliseconds, for example 2026-11-29T01:16:43.092Z.",
                        "type": "string", "format": "date-time",
                        "examples": ["2026-11-29T01:16:43.092Z"]},
            "content-type": {"description": "Media type of the record value (CloudEvents "
                                            "datacontenttype in the binary content mode).",
                             "type": "string", "const": "application/protobuf"},
        },
    }

    messages: dict[str, dict] = {}
    channels: dict[str, dict] = {}
    operations: dict[str, dict] = {}
    for topic in TOPICS:
        channel_messages = {}
        key_lines = []
        for group in topic.events:
            key = key_text(group.key)
            key_lines.append(f"- {', '.join(group.names)}: key `{key}` ({group.why}).")
            for name in group.names:
                full = f"{PACKAGE}.{name}"
                case = cases[name]
                b.message_schema(full)
                m = cat.messages[full]
                parts = [p.rsplit(".", 1)[-1] for p in group.key]
                example = "/".join(EXAMPLES.get(p, p.upper()) for p in parts)
                pattern = "^" + "/".join([ID_PATTERN] * len(parts)) + "$"
                messages[name] = {
                    "name": name,
                    "title": name,
                    "summary": first_sentence(m.comment),
                    "description": (
                        f"{m.comment}\n\n"
                        f"On `{topic.address}`, published by {topic.service}. The record value "
                        f"is a backorder.v1.EventEnvelope whose `type` (and ce_type) is "
                        f"`{name}` and whose payload case is `{case.name}` ({case.number}).\n"
                        f"- Kafka key: `{key}` of the payload: {group.why}.\n"
                        f"- Envelope aggregate_id: `{group.aggregate}`."),
                    "contentType": "application/protobuf",
                    "headers": {"allOf": [
                        ref("CloudEventsHeaders"),
                        {"type": "object", "properties": {
                            "ce_type": {"const": name},
                            "ce_source": {"const": f"/backorders/{topic.service}"}}},
                    ]},
                    "payload": {
                        "title": f"EventEnvelope carrying {name}",
                        "allOf": [
                            ref(ENVELOPE),
                            {"type": "object", "required": ["type", case.name], "properties": {
                                "type": {"const": name},
                                case.name: {
                                    "description": f"The payload (EventEnvelope.{case.name}).",
                                    "allOf": [ref(full)],
                                    "x-protobuf-field": case.number,
                                    "x-protobuf-type": full,
                                },
                            }},
                        ],
                    },
                    "correlationId": {
                        "description": "Shared by every event and call of one user action.",
                        "location": "$message.payload#/correlation_id",
                    },
                    "tags": [{"name": topic.service}],
                    "bindings": {"kafka": {
                        "key": {
                            "description": f"`{key}` of the payload" + (
                                "." if len(parts) == 1 else
                                ", joined with '/' (ids never contain '/')."),
                            "type": "string",
                            "pattern": pattern,
                            "examples": [example],
                        },
                        "bindingVersion": KAFKA_BINDING,
                    }},
                }
                channel_messages[name] = {"$ref": f"#/components/messages/{name}"}
        channels[topic.address] = {
            "address": topic.address,
            "title": topic.address,
            "summary": topic.summary,
            "description": (
                f"{topic.summary}\n\nPublished by the {topic.service} service (ce_source "
                f"`/backorders/{topic.service}`). Order is kept per key only:\n"
                + "\n".join(key_lines)),
            "messages": channel_messages,
            "bindings": {"kafka": {
                "topic": topic.address,
                "partitions": PARTITIONS,
                "topicConfiguration": {
                    "cleanup.policy": ["delete"],
                    "retention.ms": -1,
                    "retention.bytes": -1,
                },
                "bindingVersion": KAFKA_BINDING,
            }},
        }
        op_id = "publish" + "".join(w.capitalize() for w in re.split(r"[-.]", topic.service))
        operations[op_id] = {
            "action": "send",
            "title": f"{topic.service} publishes",
            "summary": f"The {topic.service} service publishes its events on {topic.address}.",
            "channel": {"$ref": f"#/channels/{topic.address}"},
            "messages": [{"$ref": f"#/channels/{topic.address}/messages/{n}"}
                         for n in channel_messages],
        }

    if b.problems:
        raise ContractError("missing comments (a subscriber reads them in docs/asyncapi.yaml):\n  "
                            + "\n  ".join(b.problems))

    # Shared schemas in a stable order: envelope and headers first, then by name.
    first = [ENVELOPE, "CloudEventsHeaders"]
    schemas = {k: b.schemas[k] for k in first}
    schemas.update({k: b.schemas[k] for k in sorted(b.schemas) if k not in first})

    return {
        "asyncapi": "3.1.0",
        "info": {
            "title": "Backorders events",
            "version": "v1",
            "description": INFO_DESCRIPTION,
            "tags": [{"name": t.service, "description": f"Published by the {t.service} service."}
                     for t in TOPICS],
        },
        "defaultContentType": "application/protobuf",
        "servers": {
            "local": {
                "host": LOCAL_BROKER,
                "protocol": "kafka",
                "title": "Local stack",
                "description": "The broker of a local stack started by tools/run "
                               "(deploy/local/README.md); elsewhere use your KAFKA_BOOTSTRAP.",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


INFO_DESCRIPTION = """\
Every state change of the back-order system, published to Kafka by the service that owns it:
one topic per owning service and version, backorder.<service>.v1. Topics have 6 partitions and
keep every event for ever (retention.ms -1), so a new subscriber can read them from the start.

- Record value: a serialised protobuf backorder.v1.EventEnvelope (proto/backorder/v1/events.proto):
  who, when, which aggregate, correlation and causation, and one typed payload whose message name
  equals the envelope's `type`.
- Record headers: CloudEvents, Kafka protocol binding in binary content mode (ce_specversion,
  ce_id, ce_type, ce_source, ce_time, content-type: application/protobuf).
- Record key: chosen per message (see each message's Kafka binding). Order is guaranteed only
  among records of one key; there is none across keys or topics.
- Delivery is at least once: deduplicate on ce_id (= event_id).

The schemas mirror the protobuf messages: property names are the proto field names,
x-protobuf-field gives the field number and x-protobuf-type the protobuf type; times and enums are
shown in their proto3 JSON form. The bytes on the wire are the binary protobuf encoding; decode
them with code generated from the protos. Evolution is additive only (checked by buf breaking); a
breaking change is published as new topics *.v2 with package backorder.v2.

How to write a subscriber: docs/subscribers.md. This file is generated from the protos by
tools/contract/gen_asyncapi.py; do not edit it by hand."""


# ---- YAML output -----------------------------------------------------------------------------


class Dumper(yaml.SafeDumper):
    pass


def wrap(text: str, width: int = 96) -> str:
    """Wraps long lines (Markdown: a list item's continuation is indented)."""
    out = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        indent = "  " if line.startswith("- ") else ""
        out.append(textwrap.fill(line, width, subsequent_indent=indent, break_long_words=False,
                                 break_on_hyphens=False))
    return "\n".join(out)


def _str(dumper, value):
    if "\n" in value or len(value) > 80:
        return dumper.represent_scalar("tag:yaml.org,2002:str", wrap(value), style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


Dumper.add_representer(str, _str)

HEADER = """\
# AsyncAPI description of the Backorders event topics, for subscribers (docs/subscribers.md).
# GENERATED by tools/contract/gen_asyncapi.py from proto/backorder/v1/*.proto and the topic table
# in that script. Do not edit: change the protos or the table, then run
#   tools/contract/gen_asyncapi.py           (rewrites this file)
#   tools/contract/gen_asyncapi.py --check   (CI: fails when this file is stale)
"""


def render(doc: dict) -> str:
    body = yaml.dump(doc, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    return HEADER + body


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; fail if docs/asyncapi.yaml differs from what the "
                             "protos give")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="default: %(default)s")
    args = parser.parse_args()
    try:
        text = render(build(Catalogue(compile_protos())))
    except ContractError as e:
        print(f"gen_asyncapi: {e}", file=sys.stderr)
        return 1
    out: Path = args.output
    if args.check:
        current = out.read_text() if out.exists() else ""
        if current != text:
            diff = difflib.unified_diff(current.splitlines(keepends=True),
                                        text.splitlines(keepends=True),
                                        f"{out} (committed)", f"{out} (from the protos)")
            sys.stderr.writelines(list(diff)[:200])
            print(f"gen_asyncapi: {display(out)} is stale: run tools/contract/gen_asyncapi.py and commit "
                  "it", file=sys.stderr)
            return 1
        print(f"gen_asyncapi: {display(out)} matches the protos")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and out.read_text() == text:
        print(f"gen_asyncapi: {display(out)} unchanged")
    else:
        out.write_text(text)
        print(f"gen_asyncapi: wrote {display(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
