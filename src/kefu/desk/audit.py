"""The desk's audit action names (stored as their values; never built at run time)."""

from __future__ import annotations

from enum import StrEnum


class DeskAudit(StrEnum):
    case_create = "case.create"
    case_update = "case.update"
    case_assign = "case.assign"
    case_tags = "case.tags"
    chat_left_as_message = "chat.left_as_message"
    message_customer = "message.customer"
    message_agent = "message.agent"
    message_note = "message.note"
    message_system = "message.system"
    message_read = "message.read"
    status_create = "status.create"
    sla_update = "sla.update"
    calendar_day = "calendar.day"
    calendar_import = "calendar.import"
    canned_create = "canned.create"
    canned_update = "canned.update"
    canned_delete = "canned.delete"
    macro_create = "macro.create"
    macro_update = "macro.update"
    macro_delete = "macro.delete"
    macro_apply = "macro.apply"
    attachment_add = "attachment.add"
    csat_submit = "csat.submit"
    agent_presence = "agent.presence"
    content_load = "desk.content_load"
    team_create = "team.create"
    team_update = "team.update"
    team_member_add = "team.member_add"
    team_member_remove = "team.member_remove"
    escalation_open = "escalation.open"
    escalation_message = "escalation.message"
    escalation_answer = "escalation.answer"
    escalation_close = "escalation.close"


#: the entry written for a message of each kind
MESSAGE_AUDIT = {
    "customer": DeskAudit.message_customer,
    "agent": DeskAudit.message_agent,
    "note": DeskAudit.message_note,
    "system": DeskAudit.message_system,
}
