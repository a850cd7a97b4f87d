"""The dealership facts workflows react to: what each fact is about and which attributes it
carries (the contract of `events.DealershipEvent`, validated at the edge).

A fact is one thing a dealership system reports (the DMS, the CRM, the phone system): a
service appointment was scheduled, a call was missed, a repair order closed. Each names the
customer by reference (never by address: contact details enter through customers.raw) and,
where it has one, its subject (`subject_key`: the appointment, lead, call, repair order,
deal... it is about), so a later fact about the same subject can be matched to a run.

Invariants:
- every fact's attributes are DealershipEvent fields (`ATTRIBUTES`), none holds contact
  details or free text written by a customer;
- `FACT_VARIABLES` maps each condition variable a workflow may test (`appointment.confirmed`)
  to the facts that make it true; a variable is false until one of them is observed for the
  run's customer (and the run's subject, when both carry `subject_key`) after the run
  started, and it never turns false again (monotonic: what the runtime relies on to decide a
  condition early, processors/workflows/expressions.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FactSpec:
    """A fact's contract: what it is about, what it must and may carry."""

    description: str
    subject_key: str | None = None
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = field(default=("vehicle",))

    def allowed(self) -> frozenset[str]:
        keys = {*self.required, *self.optional}
        if self.subject_key:
            keys.add(self.subject_key)
        return frozenset(keys)


#: every attribute a fact may carry, and its kind (the DealershipEvent field's type)
ATTRIBUTES: dict[str, str] = {
    "appointment_id": "id", "lead_id": "id", "call_id": "id", "repair_order_id": "id",
    "deal_id": "id", "order_id": "id", "application_id": "id", "recall_id": "id",
    "appraisal_id": "id", "salesperson_id": "id", "advisor_id": "id",
    "appointment_at": "datetime", "called_at": "datetime", "offer_expires_at": "datetime",
    "lease_end_date": "datetime", "warranty_expires_at": "datetime", "service_due": "datetime",
    "visit_date": "datetime", "closing_time": "datetime", "birthday": "datetime",
    "total_amount": "money", "appraisal_value": "money", "buyout_amount": "money",
    "vehicle": "text", "trade_vehicle": "text", "service": "text", "declined_items": "text",
    "part_description": "text", "missing_documents": "text", "recall_summary": "text",
    "warranty_name": "text", "vehicles_viewed": "text", "salesperson_name": "text",
    "advisor_name": "text", "lead_source": "code", "reply_code": "code", "channel": "code",
    "visit_outcome": "code",
    "booking_url": "url", "payment_url": "url", "upload_url": "url", "resume_url": "url",
    "quote_url": "url",
}  # fmt: skip

_V = ("vehicle",)

FACTS: dict[str, FactSpec] = {
    "service.appointment_scheduled": FactSpec(
        "a service appointment was booked", "appointment_id", ("appointment_at",),
        ("vehicle", "service", "advisor_id", "advisor_name")),
    "service.appointment_confirmed": FactSpec(
        "the customer confirmed a service appointment", "appointment_id", (), ()),
    "service.appointment_rescheduled": FactSpec(
        "a service appointment moved", "appointment_id", ("appointment_at",), _V),
    "service.appointment_completed": FactSpec(
        "the customer came to the appointment", "appointment_id", (), _V),
    "service.appointment_no_show": FactSpec(
        "the customer did not come to the appointment", "appointment_id", (),
        ("appointment_at", "vehicle", "service", "booking_url")),
    "service.declined": FactSpec(
        "the customer declined recommended work", "repair_order_id", ("declined_items",),
        ("vehicle", "advisor_name")),
    "lead.created": FactSpec(
        "an internet lead arrived", "lead_id", (),
        ("vehicle", "lead_source", "salesperson_id", "salesperson_name")),
    "lead.contacted": FactSpec("a salesperson reached the lead", "lead_id", (), ()),
    "call.missed": FactSpec("a customer's call went unanswered", "call_id", ("called_at",), ()),
    "call.returned": FactSpec("the dealership called the customer back", "call_id", (), ()),
    "repair_order.closed": FactSpec(
        "a repair order was closed", "repair_order_id", (),
        ("vehicle", "declined_items", "total_amount", "advisor_id", "advisor_name",
         "booking_url")),
    "repair_order.work_completed": FactSpec(
        "the work on a repair order is done", "repair_order_id", (),
        ("vehicle", "total_amount", "payment_url", "closing_time", "advisor_name")),
    "vehicle.sold": FactSpec(
        "a vehicle was sold", "deal_id", (), ("vehicle", "salesperson_name")),
    "vehicle.delivered": FactSpec(
        "a sold vehicle was handed over", "deal_id", (), ("vehicle", "salesperson_name")),
    "vehicle.maintenance_due": FactSpec(
        "a vehicle is due for maintenance", None, ("service_due",),
        ("vehicle", "booking_url")),
    "vehicle.picked_up": FactSpec(
        "the customer picked the vehicle up", "repair_order_id", (), _V),
    "lease.maturity_scheduled": FactSpec(
        "a lease is ending", "deal_id", ("lease_end_date",),
        ("vehicle", "buyout_amount", "salesperson_id", "salesperson_name")),
    "parts.special_order_received": FactSpec(
        "special-order parts arrived", "order_id", ("part_description",), _V),
    "parts_order.picked_up": FactSpec(
        "the customer collected the parts", "order_id", (), ()),
    "customer.replied": FactSpec(
        "the customer replied to a message (the reply's code, never its text)", None, (),
        ("reply_code", "channel")),
    "customer.opted_out": FactSpec(
        "the customer opted out of a channel", None, ("channel",), ()),
    "customer.birthday_upcoming": FactSpec(
        "the customer's birthday is near", None, ("birthday",), ()),
    "appraisal.completed": FactSpec(
        "a trade-in was appraised", "appraisal_id", ("appraisal_value",),
        ("trade_vehicle", "offer_expires_at", "salesperson_name")),
    "deal.started": FactSpec("a deal was started", "deal_id", (), ("vehicle",)),
    "deal.created": FactSpec("a deal was written", "deal_id", (), ("vehicle",)),
    "deal.documents_requested": FactSpec(
        "documents are missing from a deal", "deal_id", ("missing_documents",),
        ("vehicle", "upload_url")),
    "deal.documents_completed": FactSpec(
        "the deal's documents are complete", "deal_id", (), ()),
    "credit_application.abandoned": FactSpec(
        "a credit application was left unfinished", "application_id", (), ("resume_url",)),
    "credit_application.submitted": FactSpec(
        "a credit application was submitted", "application_id", (), ()),
    "recall.vehicle_matched": FactSpec(
        "a recall applies to the customer's vehicle", "recall_id", ("recall_summary",),
        ("vehicle", "booking_url")),
    "warranty.expiration_scheduled": FactSpec(
        "a warranty is about to end", None, ("warranty_expires_at",),
        ("warranty_name", "vehicle")),
    "showroom.visit_ended": FactSpec(
        "the customer left the showroom", None, ("visit_date",),
        ("vehicles_viewed", "visit_outcome", "salesperson_id", "salesperson_name")),
    "test_drive.completed": FactSpec(
        "the customer finished a test drive", None, (),
        ("vehicle", "salesperson_id", "salesperson_name", "quote_url")),
    "review.submitted": FactSpec("the customer left a review", None, (), ()),
}

#: condition variables and the facts that make each true (module doc)
FACT_VARIABLES: dict[str, tuple[str, ...]] = {
    "appointment.confirmed": ("service.appointment_confirmed",),
    "appointment.scheduled": ("service.appointment_scheduled",),
    "appointment.rebooked": ("service.appointment_scheduled",
                             "service.appointment_rescheduled"),
    "appointment.completed": ("service.appointment_completed",),
    "call.returned": ("call.returned",),
    "lead.contacted": ("lead.contacted",),
    "customer.responded": ("customer.replied",),
    "customer.opted_out": ("customer.opted_out",),
    "deal.started": ("deal.started", "deal.created"),
    "deal.created": ("deal.created",),
    "deal.documents_complete": ("deal.documents_completed",),
    "credit_application.submitted": ("credit_application.submitted",),
    "parts_order.picked_up": ("parts_order.picked_up",),
    "vehicle.picked_up": ("vehicle.picked_up",),
    "review.submitted": ("review.submitted",),
}

#: trigger fields a workflow may use that are not attributes: the run's customer (filled at
#: delivery from the restricted layer, processors/workflows/run_params.py) and the tenant's
#: name
CUSTOMER_FIELDS: dict[str, str] = {
    "first_name": "{{customer.first_name}}", "last_name": "{{customer.last_name}}",
}
#: trigger fields that address the run's customer on a channel (a send step's `to`)
ADDRESS_FIELDS: dict[str, str] = {
    "customer_phone": "sms", "caller_phone": "sms", "customer_email": "email",
}
CONTEXT_FIELDS = frozenset({"customer_id", "dealership_name", "event", "occurred_at"})


def trigger_fields(fact: str) -> frozenset[str]:
    """The `{{trigger.<field>}}` names a workflow triggered by `fact` may use."""
    return (FACTS[fact].allowed() | CONTEXT_FIELDS | frozenset(CUSTOMER_FIELDS)
            | frozenset(ADDRESS_FIELDS))


def facts_setting(variable: str) -> tuple[str, ...]:
    return FACT_VARIABLES.get(variable, ())


def matches_filters(filters: dict[str, str], trigger: dict[str, object]) -> bool:
    """Whether a fact's trigger fields pass a workflow trigger's `filters`: each field equals
    the value (compared as text, case-insensitively), or is set at all for `*`."""
    for key, want in filters.items():
        got = trigger.get(key)
        if want == "*":
            if got in (None, ""):
                return False
        elif got is None or str(got).lower() != str(want).lower():
            return False
    return True
