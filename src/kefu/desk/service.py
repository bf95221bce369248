"""The desk's public face: what other contexts, the shells (web, CLI, demo) and the tests may
call. The use cases live in topic modules — cases, messages, lifecycle, assignment, statuses,
SLA policies, canned replies, CSAT, search, chat — each action writing its own audit entry."""

from __future__ import annotations

from kefu.desk.access import visible_case
from kefu.desk.assignment import (
    agent_profiles,
    agent_slots,
    assign_automatically,
    assign_case,
    assign_waiting,
    set_presence,
)
from kefu.desk.attachments import add_attachment, attachment_file, file_policy
from kefu.desk.calendar_import import (
    CalendarImport,
    calendar_by_name,
    calendar_import_limit,
    calendars_needing_holidays,
    import_calendar_file,
)
from kefu.desk.canned import (
    add_canned,
    case_variables,
    delete_canned,
    list_canned,
    render_canned,
    update_canned,
)
from kefu.desk.cases import (
    categories,
    create_case,
    rename_case,
    set_case_category,
    set_case_priority,
    set_case_status,
    update_case,
)
from kefu.desk.conversation import add_message, message_payload
from kefu.desk.csat import submit_csat, survey_of
from kefu.desk.lifecycle import change_status, on_case_finished
from kefu.desk.macros import (
    apply_macro,
    create_macro,
    delete_macro,
    list_macros,
    load_macros,
    macro_out,
    update_macro,
)
from kefu.desk.merge import merge_cases
from kefu.desk.messages import (
    last_customer_text,
    mark_read,
    post_message,
    prepare_posts,
    visible_messages,
)
from kefu.desk.search import count_cases, list_cases, search_case_ids
from kefu.desk.sla_policies import (
    Policy,
    PolicyBook,
    calendar_of,
    list_calendars,
    list_policies,
    load_policies,
    policy_for,
    refresh_next_due,
    set_calendar_day,
    sla_view,
    update_sla_policy,
)
from kefu.desk.statuses import (
    BUILTIN_STATUSES,
    create_status,
    ensure_builtin_statuses,
    list_statuses,
    status_by_key,
)
from kefu.desk.tags import bulk_update, tag_case
from kefu.desk.validation import normalise_tags

__all__ = [
    "BUILTIN_STATUSES",
    "CalendarImport",
    "Policy",
    "PolicyBook",
    "add_attachment",
    "add_canned",
    "add_message",
    "agent_profiles",
    "agent_slots",
    "apply_macro",
    "assign_automatically",
    "assign_case",
    "assign_waiting",
    "attachment_file",
    "bulk_update",
    "calendar_by_name",
    "calendar_import_limit",
    "calendar_of",
    "calendars_needing_holidays",
    "case_variables",
    "categories",
    "change_status",
    "count_cases",
    "create_case",
    "create_macro",
    "create_status",
    "delete_canned",
    "delete_macro",
    "ensure_builtin_statuses",
    "file_policy",
    "import_calendar_file",
    "last_customer_text",
    "list_calendars",
    "list_canned",
    "list_cases",
    "list_macros",
    "list_policies",
    "list_statuses",
    "load_macros",
    "load_policies",
    "macro_out",
    "mark_read",
    "merge_cases",
    "message_payload",
    "normalise_tags",
    "on_case_finished",
    "policy_for",
    "post_message",
    "prepare_posts",
    "refresh_next_due",
    "rename_case",
    "render_canned",
    "search_case_ids",
    "set_calendar_day",
    "set_case_category",
    "set_case_priority",
    "set_case_status",
    "set_presence",
    "sla_view",
    "status_by_key",
    "submit_csat",
    "survey_of",
    "tag_case",
    "update_canned",
    "update_case",
    "update_macro",
    "update_sla_policy",
    "visible_case",
    "visible_messages",
]
