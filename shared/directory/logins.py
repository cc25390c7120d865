"""Logins for the people-facing API, kept in step with the HR directory: each person of an import gets a Cognito user
(username = employee id) in the group their directory role maps to, with the scope claims the API reads
(`custom:employee_id`, `custom:location`, `custom:region`); leavers' logins are disabled and signed out. The admin group
is never granted from HR data (only from the console).

Pure planning here (`login_for`); `CognitoLogins` applies a plan with the Cognito admin API. Only the people an import
created, changed or deactivated are touched (the import report names them), so a daily import of an unchanged
directory makes no Cognito call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Directory role -> API group (shared/api/principal.Role). Anyone else is an advisor: they see their own data.
ROLE_GROUPS = {
    'manager': 'manager', 'workshop_manager': 'manager', 'service_manager': 'manager', 'team_lead': 'manager',
    'supervisor': 'manager',
    'regional_manager': 'regional', 'service_head': 'regional', 'regional_head': 'regional',
    'national_head': 'hq', 'hq': 'hq', 'cx_team': 'hq', 'leadership': 'hq',
}  # fmt: skip
GROUPS = frozenset({'advisor', 'manager', 'regional', 'hq'})  # the groups an import manages (never admin or kiosk)


@dataclass(frozen=True)
class Login:
    username: str
    group: str
    attributes: dict[str, str]
    enabled: bool = True


def group_for(role: str | None) -> str:
    return ROLE_GROUPS.get((role or '').strip().lower(), 'advisor')


def login_for(profile: Any) -> Login:
    """A directory profile (or an HR row) as the login the API expects."""
    attributes = {'custom:employee_id': profile.employee_id, 'custom:location': profile.location_id or '',
                  'custom:region': profile.region or ''}  # fmt: skip
    if getattr(profile, 'email', None):
        attributes |= {'email': profile.email, 'email_verified': 'true'}
    return Login(username=profile.employee_id, group=group_for(profile.role), attributes=attributes, enabled=bool(profile.active))


@dataclass
class LoginReport:
    created: int = 0
    updated: int = 0
    disabled: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (employee id, reason): no personal data

    def as_dict(self) -> dict[str, Any]:
        return {'created': self.created, 'updated': self.updated, 'disabled': self.disabled, 'failed': self.failed}


class CognitoLogins:
    """The people user pool (its id from PEOPLE_USER_POOL_ID), through the Cognito admin API."""

    def __init__(self, user_pool_id: str, client: Any = None) -> None:
        self.user_pool_id = user_pool_id
        if client is None:
            import boto3

            from shared.config import get_settings

            settings = get_settings()
            client = boto3.client('cognito-idp', region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL)
        self.client = client

    def apply(self, logins: Iterable[Login]) -> LoginReport:
        report = LoginReport()
        for login in logins:
            try:
                self._apply(login, report)
            except self.client.exceptions.ClientError as exc:
                report.failed.append((login.username, exc.response.get('Error', {}).get('Code', 'error')))
        return report

    def _apply(self, login: Login, report: LoginReport) -> None:
        attributes = [{'Name': k, 'Value': v} for k, v in login.attributes.items()]
        if not login.enabled:
            try:
                self.client.admin_disable_user(UserPoolId=self.user_pool_id, Username=login.username)
                self.client.admin_user_global_sign_out(UserPoolId=self.user_pool_id, Username=login.username)
            except self.client.exceptions.UserNotFoundException:
                return
            report.disabled += 1
            return
        try:
            # An invitation with a temporary password goes to the person's e-mail (Cognito's own message); without an
            # e-mail nothing is sent and an admin sets the first password in the console.
            extra = {} if 'email' in login.attributes else {'MessageAction': 'SUPPRESS'}
            self.client.admin_create_user(UserPoolId=self.user_pool_id, Username=login.username, UserAttributes=attributes,
                                          DesiredDeliveryMediums=['EMAIL'], **extra)  # fmt: skip
            report.created += 1
        except self.client.exceptions.UsernameExistsException:
            self.client.admin_update_user_attributes(UserPoolId=self.user_pool_id, Username=login.username, UserAttributes=attributes)
            self.client.admin_enable_user(UserPoolId=self.user_pool_id, Username=login.username)
            current = self.client.admin_list_groups_for_user(UserPoolId=self.user_pool_id, Username=login.username)['Groups']
            for group in {g['GroupName'] for g in current} & GROUPS - {login.group}:
                self.client.admin_remove_user_from_group(UserPoolId=self.user_pool_id, Username=login.username, GroupName=group)
            report.updated += 1
        self.client.admin_add_user_to_group(UserPoolId=self.user_pool_id, Username=login.username, GroupName=login.group)

    def delete(self, username: str) -> int:
        """An erasure: the login and what Cognito holds of the person (e-mail) deleted; 1 if it existed."""
        try:
            self.client.admin_delete_user(UserPoolId=self.user_pool_id, Username=username)
        except self.client.exceptions.UserNotFoundException:
            return 0
        return 1

    def exists(self, username: str) -> int:
        try:
            self.client.admin_get_user(UserPoolId=self.user_pool_id, Username=username)
        except self.client.exceptions.UserNotFoundException:
            return 0
        return 1
