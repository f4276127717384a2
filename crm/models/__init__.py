"""All models, imported here so the metadata is complete for alembic and the app."""

from crm.models.activity import Activity
from crm.models.audit import AuditEvent
from crm.models.base import Base, TenantOwned
from crm.models.contact import Contact
from crm.models.cordis import (
    CordisDismissal,
    CordisLink,
    CordisLoad,
    CordisParticipant,
    CordisProject,
    CordisUpload,
)
from crm.models.export import ExportFile
from crm.models.imports import ImportBatch
from crm.models.job import JobRun
from crm.models.mail import EmailConsent, OutboxMessage
from crm.models.mailing import Mailing, MailingRecipient, ReminderLog, ReminderSettings
from crm.models.membership import (
    AssociationMembership,
    ClusterMembership,
    MembershipStatusChange,
    Payment,
)
from crm.models.metrics import MetricSnapshot, MetricValue
from crm.models.organisation import Organisation, organisation_ecosystems
from crm.models.partner_request import PartnerInterest, PartnerRequest, SharedContact
from crm.models.profile import PartnerProfile
from crm.models.project import (
    Participation,
    Project,
    ProjectStatusChange,
    project_ecosystems,
    project_flagships,
)
from crm.models.reference import Ecosystem, FlagshipArea, Programme
from crm.models.segment import Segment
from crm.models.tag import Tag, contact_tags, organisation_tags
from crm.models.tenant import Tenant
from crm.models.user import User

__all__ = [
    "Activity",
    "AssociationMembership",
    "AuditEvent",
    "Base",
    "ClusterMembership",
    "Contact",
    "CordisDismissal",
    "CordisLink",
    "CordisLoad",
    "CordisParticipant",
    "CordisProject",
    "CordisUpload",
    "Ecosystem",
    "EmailConsent",
    "ExportFile",
    "FlagshipArea",
    "ImportBatch",
    "JobRun",
    "Mailing",
    "MailingRecipient",
    "MembershipStatusChange",
    "MetricSnapshot",
    "MetricValue",
    "Organisation",
    "OutboxMessage",
    "Participation",
    "PartnerInterest",
    "PartnerProfile",
    "PartnerRequest",
    "Payment",
    "Programme",
    "ReminderLog",
    "ReminderSettings",
    "Project",
    "Segment",
    "SharedContact",
    "Tag",
    "ProjectStatusChange",
    "Tenant",
    "TenantOwned",
    "User",
    "contact_tags",
    "organisation_ecosystems",
    "organisation_tags",
    "project_ecosystems",
    "project_flagships",
]

# Tables shared between associations under their own policies: published
# profiles and partner requests, readable by every association (migrations 0012
# and 0013); interests and shared contacts, readable by the two associations
# concerned only. Each is written by the association that owns the row.
CROSS_TENANT_READABLE = [
    "partner_profiles",
    "partner_requests",
    "partner_interests",
    "partner_shared_contacts",
]

# Tables that belong to one tenant: row-level security covers exactly these.
TENANT_TABLES = [
    t.name
    for t in Base.metadata.sorted_tables
    if "tenant_id" in t.c
    and not t.c.tenant_id.nullable
    and t.name != "users"
    and t.name not in CROSS_TENANT_READABLE
]
