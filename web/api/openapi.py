"""GET /api/openapi.json: the admin API described as data (OpenAPI 3.1).

Hand-written next to the routes it describes; tests/web run Schemathesis
against it, so a route and its description cannot drift apart unnoticed.
"""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from models.complaints import Status
from models.outbox import OutboxStatus
from web.api import bp

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
TIME: Schema = {"type": ["string", "null"], "format": "date-time"}
COUNTS: Schema = {"type": "object", "additionalProperties": INTEGER}


def nullable(schema: Schema) -> Schema:
    return {**schema, "type": [schema["type"], "null"]}


def obj(**properties: Schema) -> Schema:
    return {"type": "object", "required": list(properties), "properties": properties}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def page_of(name: str) -> Schema:
    return obj(
        items={"type": "array", "items": ref(name)}, page=INTEGER, per_page=INTEGER, total=INTEGER
    )


def query(name: str, schema: Schema, description: str = "") -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def path(name: str, schema: Schema) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def json_response(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = json_response("an error", ref("Error"))
PAGING = [
    query("page", {"type": "integer", "minimum": 1, "maximum": 100000}),
    query("per_page", {"type": "integer", "minimum": 1, "maximum": 200}),
]
TRACKING = {"type": "integer", "minimum": 0}


def operation(
    summary: str, ok: Schema, *parameters: Schema, errors: tuple[int, ...] = ()
) -> Schema:
    responses: dict[str, Schema] = {"200": ok, "400": ERROR, "401": ERROR}
    responses |= {str(code): ERROR for code in errors}
    return {"summary": summary, "parameters": list(parameters), "responses": responses}


def creation(summary: str, body: Schema, created: str) -> Schema:
    """A POST of a JSON object; 201 with what was made, 409 when models.admin refuses it."""
    return {
        "summary": summary,
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "201": json_response("created", ref(created)),
            "400": ERROR,
            "401": ERROR,
            "409": ERROR,
        },
    }


def blocklist(summary: str, body: Schema, refused: int) -> Schema:
    """A POST of a number (in the body, out of access logs); 200 with its masked state."""
    return {
        "summary": summary,
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "200": json_response("the reporter, masked", ref("Reporter")),
            "400": ERROR,
            "401": ERROR,
            str(refused): ERROR,
        },
    }


COMPLAINT = obj(
    tracking_number=INTEGER,
    status={"type": "string", "enum": [s.value for s in Status]},
    sector=STRING,
    region_code=nullable(STRING),
    agency_code=nullable(STRING),
    agency_name=nullable(STRING),
    channel=STRING,
    reporter={**nullable(STRING), "description": "masked (628113643xxxx); null when anonymous"},
    anonymous=BOOLEAN,
    confidential=BOOLEAN,
    complaint_type=STRING,
    text=STRING,
    rating=nullable(INTEGER),
    overdue=BOOLEAN,
    created_at=TIME,
    updated_at=TIME,
    disposition_due_at=TIME,
    followup_due_at=TIME,
    done_at=TIME,
    closed_at=TIME,
)
EVENT = obj(
    at=TIME,
    actor=STRING,
    action=STRING,
    status_before=nullable(STRING),
    status_after=nullable(STRING),
    agency_code=nullable(STRING),
    note=STRING,
)
MESSAGE = obj(
    direction={"type": "string", "enum": ["in", "out"]},
    at=TIME,
    channel=STRING,
    party=nullable(STRING),
    text=STRING,
    status=STRING,
)
AGENCY = obj(
    code=STRING,
    name=STRING,
    sector=STRING,
    region_code=nullable(STRING),
    parent_code=nullable(STRING),
    is_coordinator=BOOLEAN,
    active=BOOLEAN,
    officers=INTEGER,
)
OFFICER = obj(id=INTEGER, msisdn=STRING, name=nullable(STRING), agency_code=STRING, active=BOOLEAN)
OUTBOUND = obj(
    id=INTEGER,
    recipient=nullable(STRING),  # null: an anonymous reporter
    channel=STRING,
    link=STRING,
    template=STRING,
    status={"type": "string", "enum": [s.value for s in OutboxStatus]},
    attempts=INTEGER,
    last_error=nullable(STRING),
    tracking_number=nullable(INTEGER),
    created_at=TIME,
    sent_at=TIME,
)
PERFORMANCE = obj(
    agency_code=STRING,
    agency_name=STRING,
    region_code=nullable(STRING),
    received=INTEGER,
    followed_up_in_time=INTEGER,
    overdue=INTEGER,
    forwarded=INTEGER,
    average_rating={"type": ["number", "null"]},
)
STATS = obj(
    total=INTEGER,
    by_status=COUNTS,
    by_sector=COUNTS,
    by_region={
        "type": "array",
        "items": obj(region_code=nullable(STRING), region_name=nullable(STRING), count=INTEGER),
    },
    overdue=obj(total=INTEGER, by_sector=COUNTS),
)
REGION = STRING | {"description": "a Kemendagri code; includes every region below it"}

PATHS: Schema = {
    "/api/complaints": {
        "get": operation(
            "Complaints, newest first",
            json_response("a page of complaints", page_of("Complaint")),
            query("status", {"type": "string", "enum": [s.value for s in Status]}),
            query("agency", STRING, "agency code"),
            query("region", REGION),
            query("overdue", BOOLEAN),
            *PAGING,
        )
    },
    "/api/complaints/{tracking}": {
        "get": operation(
            "One complaint with its audit trail and messages",
            json_response(
                "the complaint",
                {
                    "allOf": [
                        ref("Complaint"),
                        obj(
                            routing_confidence={"type": "number"},
                            routing_explanation=STRING,
                            events={"type": "array", "items": ref("Event")},
                            messages={"type": "array", "items": ref("Message")},
                        ),
                    ]
                },
            ),
            path("tracking", TRACKING),
            errors=(404,),
        )
    },
    "/api/agencies": {
        "get": operation(
            "Agencies by code",
            json_response("a page of agencies", page_of("Agency")),
            query("sector", STRING),
            query("region", REGION),
            query("q", STRING, "part of the name"),
            query("active", BOOLEAN),
            *PAGING,
        ),
        "post": creation(
            "Add an agency",
            {
                **obj(code=STRING, name=STRING, sector=STRING),
                "properties": {
                    "code": STRING,
                    "name": STRING,
                    "sector": STRING,
                    "region_code": nullable(STRING),
                    "parent_code": nullable(STRING),
                    "is_coordinator": BOOLEAN,
                },
            },
            "Agency",
        ),
    },
    "/api/agencies/{code}": {
        "get": operation(
            "One agency with its officers",
            json_response(
                "the agency",
                {
                    "allOf": [
                        ref("Agency"),
                        obj(officer_list={"type": "array", "items": ref("Officer")}),
                    ]
                },
            ),
            path("code", STRING),
            errors=(404,),
        )
    },
    "/api/officers": {
        "get": operation(
            "Officers",
            json_response("a page of officers", page_of("Officer")),
            query("agency", STRING, "agency code"),
            query("active", BOOLEAN),
            *PAGING,
        ),
        "post": creation(
            "Add an officer (or bring a deactivated one back)",
            {
                **obj(agency_code=STRING, msisdn=STRING),
                "properties": {"agency_code": STRING, "msisdn": STRING, "name": nullable(STRING)},
            },
            "Officer",
        ),
    },
    "/api/outbox": {
        "get": operation(
            "Outbound messages of one status (failed by default), newest first",
            json_response("a page of messages", page_of("Outbound")),
            query("status", {"type": "string", "enum": [s.value for s in OutboxStatus]}),
            query("channel", STRING),
            *PAGING,
        )
    },
    "/api/outbox/{id}/retry": {
        "post": operation(
            "Send a failed message again",
            json_response("queued again", obj(id=INTEGER, status=STRING)),
            path("id", {"type": "integer", "minimum": 0}),
            errors=(404, 409),
        )
    },
    "/api/reporters/block": {
        "post": blocklist(
            "Block a number: its texts are stored but never filed or answered",
            {
                **obj(msisdn=STRING),
                "properties": {"msisdn": STRING, "reason": nullable(STRING)},
            },
            409,
        )
    },
    "/api/reporters/unblock": {"post": blocklist("Unblock a number", obj(msisdn=STRING), 404)},
    "/api/stats": {
        "get": operation(
            "Complaints per status, sector and region; overdue counts",
            json_response("statistics", ref("Stats")),
            query("since", {"type": "string", "format": "date-time"}),
            query("until", {"type": "string", "format": "date-time"}),
        )
    },
    "/api/reports/agency-performance": {
        "get": operation(
            "The quarterly agency performance report",
            {
                "description": "one line per agency that received complaints",
                "content": {
                    "application/json": {
                        "schema": obj(
                            year=INTEGER,
                            quarter=INTEGER,
                            agencies={"type": "array", "items": ref("AgencyPerformance")},
                        )
                    },
                    "text/csv": {"schema": STRING},
                },
            },
            query("year", {"type": "integer", "minimum": 2000, "maximum": 2100}),
            query("quarter", {"type": "integer", "minimum": 1, "maximum": 4}),
            query("format", {"type": "string", "enum": ["json", "csv"]}),
        )
    },
}

SPEC: Schema = {
    "openapi": "3.1.0",
    "info": {
        "title": "LAPOR! 1708 gateway administration API",
        "version": "1",
        "description": "Reporter numbers are masked; anonymous reporters never appear.",
    },
    "security": [{"bearer": []}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": obj(error=STRING),
            "Complaint": COMPLAINT,
            "Event": EVENT,
            "Message": MESSAGE,
            "Agency": AGENCY,
            "Officer": OFFICER,
            "Outbound": OUTBOUND,
            "Reporter": obj(
                reporter={**STRING, "description": "masked (628113643xxxx)"}, blocked=BOOLEAN
            ),
            "AgencyPerformance": PERFORMANCE,
            "Stats": STATS,
        },
    },
}


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return SPEC
