"""Every rapport table. Importing this package registers all of them on :data:`metadata`
(alembic's ``target_metadata``); add the module of each new feature here."""

from storage.tables.base import NAMING_CONVENTION, StorageModel, metadata
from storage.tables.campaigns import CampaignRecipientRow, CampaignRow
from storage.tables.consent import MarketingConsentLogRow
from storage.tables.coupons import CouponRow
from storage.tables.customers import (
    CustomerOrderRow,
    CustomerPaidDayRow,
    CustomerProfileRow,
    CustomerRfmRow,
    CustomerTierHistoryRow,
    CustomerTierRow,
    RfmWindowRow,
)
from storage.tables.desk import TakeoverRow
from storage.tables.inbox import InboundUpdateRow
from storage.tables.keys import KeyCheckRow
from storage.tables.loyalty import LoyaltyRedemptionRow
from storage.tables.news import NewsItemRow
from storage.tables.outbox import OutboxRow
from storage.tables.profile import ProfileAskRow
from storage.tables.ratings import TicketRatingRow, TicketRevisitRow
from storage.tables.scheduling import SchedulerLeaseRow
from storage.tables.staff import CustomerAdvisorRow, StaffAuditRow, StaffMemberRow
from storage.tables.support import ConversationRow, CustomerRow, MessageLogRow, SupportRequestRow
from storage.tables.surveys import NpsSurveyRow
from storage.tables.tasks import StaffTaskRow
from storage.tables.tickets import TicketEventRow, TicketRow
from storage.tables.topics import TicketTopicRow

__all__ = [
    "NAMING_CONVENTION",
    "CampaignRecipientRow",
    "CampaignRow",
    "ConversationRow",
    "CouponRow",
    "CustomerAdvisorRow",
    "CustomerOrderRow",
    "CustomerPaidDayRow",
    "CustomerProfileRow",
    "CustomerRfmRow",
    "CustomerRow",
    "CustomerTierHistoryRow",
    "CustomerTierRow",
    "InboundUpdateRow",
    "KeyCheckRow",
    "LoyaltyRedemptionRow",
    "MarketingConsentLogRow",
    "MessageLogRow",
    "NewsItemRow",
    "NpsSurveyRow",
    "OutboxRow",
    "ProfileAskRow",
    "RfmWindowRow",
    "SchedulerLeaseRow",
    "StaffAuditRow",
    "StaffMemberRow",
    "StaffTaskRow",
    "StorageModel",
    "SupportRequestRow",
    "TakeoverRow",
    "TicketEventRow",
    "TicketRatingRow",
    "TicketRevisitRow",
    "TicketRow",
    "TicketTopicRow",
    "metadata",
]
