"""The identity context's audit action names (values are the strings stored in the log)."""

from enum import StrEnum


class IdentityAudit(StrEnum):
    login = "auth.login"
    logout = "auth.logout"
    user_create = "user.create"
    user_role = "user.role"
    user_language = "user.language"
