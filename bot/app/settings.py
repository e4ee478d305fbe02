"""Every setting of rapport, read once from the environment (prefix ``RAPPORT_``) or ``.env``.

Each number from the business rulebook is a default here, never a constant in code. The
README's settings table is generated from this class (``rapport settings --markdown``), so a
field's description is its documentation.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.loyalty import parse_levels

Framework = Literal["aiogram", "ptb"]
LOCALES: tuple[str, ...] = ("en", "zh-Hans", "zh-Hant")


class Settings(BaseSettings):
    """Deployment configuration. Build it once (``Settings()``) and pass it down."""

    model_config = SettingsConfigDict(
        env_prefix="RAPPORT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- Telegram -------------------------------------------------------------------------
    bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("RAPPORT_BOT_TOKEN", "TELEGRAM_BOT_TOKEN", "bot_token"),
        description="Bot token from @BotFather (also read from TELEGRAM_BOT_TOKEN). Never logged.",
    )
    framework: Framework = Field("aiogram", description="Telegram framework: aiogram or ptb.")
    api_base: str = Field(
        "https://api.telegram.org",
        description="Bot API server; the demo and tests point it at the local emulator.",
    )
    polling_timeout: int = Field(30, ge=0, le=50, description="Long-polling timeout, seconds.")
    telegram_request_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="How long a request to Telegram other than polling (a send, an edit, a "
        "button answer) may take, on either framework; a send that times out may still have "
        "been delivered, and is retried as a doubtful one.",
    )
    telegram_connections_min: int = Field(
        16,
        ge=1,
        description="Fewest connections to the Bot API the bot's HTTP client keeps open at "
        "once; sends beyond the pool wait for a connection.",
    )
    telegram_connection_seconds: float = Field(
        0.2,
        gt=0,
        description="How long one send is allowed to hold a connection when the pool is "
        "sized: the pool is the bot-wide rate times this (at least telegram_connections_min), "
        "200 connections at the paid rate of 1000/s.",
    )
    telegram_retry_min_seconds: float = Field(
        1.0,
        gt=0,
        description="When Telegram cannot be reached at start, the first wait before trying "
        "again; each failure doubles it.",
    )
    telegram_retry_max_seconds: float = Field(
        60.0, gt=0, description="The longest wait between attempts to reach Telegram at start."
    )
    accept_retry_initial_seconds: float = Field(
        0.5,
        gt=0,
        description="First wait before retrying to record a fetched batch (or a failed "
        "getUpdates); the batch is not confirmed to Telegram until it is recorded.",
    )
    accept_retry_max_seconds: float = Field(
        30.0, gt=0, description="Longest wait between two such retries (the wait doubles)."
    )
    stop_grace_seconds: float = Field(
        10.0,
        ge=0,
        description="On SIGTERM/SIGINT, how long updates already being handled may take to "
        "finish; those not begun, or not finished by then, stay recorded and are handled at "
        "the next start.",
    )
    updates_in_flight_max: int = Field(
        256,
        ge=1,
        description="Updates being handled at once before polling waits to fetch more.",
    )
    chat_order_wait_seconds: float = Field(
        15.0,
        ge=0,
        description="With several workers: how long an update waits for an older update of "
        "its chat that another worker is handling, so a chat's answers keep their order; "
        "past it, it goes ahead.",
    )
    update_handle_attempts: int = Field(
        5,
        ge=1,
        description="Attempts at handling one update (waiting as for a batch between them) "
        "before it is left recorded for the next start; a busy database delays an update, it "
        "never drops it.",
    )

    # --- Webhook (instead of long polling) -----------------------------------------------
    webhook_url: str | None = Field(
        None,
        description="Public HTTPS URL Telegram posts updates to (`rapport run --webhook "
        "--public-url`); set, the bot receives updates by webhook instead of long polling. "
        "The reverse proxy forwards its path unchanged to RAPPORT_WEBHOOK_LISTEN.",
    )
    webhook_listen: str = Field(
        "127.0.0.1:8081",
        description="HOST:PORT the webhook receiver listens on (behind the reverse proxy).",
    )
    webhook_secret: SecretStr | None = Field(
        None,
        description="Secret token Telegram sends with every webhook request (1-256 of "
        "A-Z a-z 0-9 _ -); a request without it gets 401. Unset: derived from the bot token, "
        "so every worker of one bot agrees.",
    )
    webhook_accept_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="How long a webhook request waits for the database to record its update "
        "before answering 503 (Telegram then delivers it again).",
    )
    webhook_max_connections: int = Field(
        40,
        ge=1,
        le=100,
        description="Simultaneous webhook connections Telegram may open (setWebhook).",
    )

    health_listen: str | None = Field(
        None,
        description="HOST:PORT serving GET /healthz and GET /metrics (Prometheus) in polling "
        "mode; in webhook mode they are served on the webhook port. Keep it private.",
    )

    # --- Storage --------------------------------------------------------------------------
    database_url: str = Field(
        "sqlite+aiosqlite:///rapport.db",
        description="SQLAlchemy async URL: SQLite (WAL) by default, "
        "postgresql+asyncpg://… in production.",
    )

    # --- Language and time ----------------------------------------------------------------
    default_locale: Literal["en", "zh-Hans", "zh-Hant"] = Field(
        "en", description="Locale used when neither the customer nor Telegram names one."
    )
    default_timezone: str = Field(
        "UTC", description="IANA time zone assumed for customers who have not given theirs."
    )
    business_name: str = Field("our shop", description="How the bot names the business.")

    # --- FAQ ------------------------------------------------------------------------------
    faq_answer_threshold: float = Field(
        46.0,
        ge=0,
        le=100,
        description="FAQ match score (0–100) at or above which the bot answers (calibrated on "
        "the development half of benchmarks/data/faq_eval.yaml).",
    )
    faq_answer_margin: float = Field(
        8.0,
        ge=0,
        le=100,
        description="Lead the best FAQ entry needs over the runner-up to be answered directly; "
        'a closer race asks "Do you mean …?" first.',
    )
    faq_confirm_threshold: float = Field(
        30.0,
        ge=0,
        le=100,
        description="Score at or above which (but below the answer threshold) the bot asks "
        '"Do you mean …?" first.',
    )

    faq_model_answer: float = Field(
        0.75,
        gt=0,
        le=1,
        description="With the learned FAQ model (scripts_i18n/models/faq.npz): blended score "
        "(0–1, mostly the model's calibrated probability that the entry is right) at or above "
        "which the bot answers directly.",
    )
    faq_model_confirm: float = Field(
        0.2,
        gt=0,
        le=1,
        description="With the learned FAQ model: blended score (0–1) at or above which the bot "
        'asks "Do you mean …?" first; below it, an honest hand-off.',
    )
    faq_model_weight: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Share of the learned FAQ model's probability in an entry's blended score "
        "(the rest: the word matcher's score / 100).",
    )
    understanding_models: bool = Field(
        True,
        description="Use the learned models of the FAQ and triage (scripts_i18n/models/); off: "
        "the word lists and rules decide alone.",
    )

    # --- Complaint triage (SPEC §5) -------------------------------------------------------
    triage_model_complaint: float = Field(
        0.35,
        gt=0,
        le=1,
        description="With the learned triage model: its calibrated probability of a complaint "
        "at or above which a message with no complaint keyword is a complaint.",
    )
    triage_model_veto: float = Field(
        0.15,
        ge=0,
        lt=1,
        description="With the learned triage model: its probability of a complaint below which "
        "a general or quality keyword alone does not make a complaint (0: never overruled; "
        "major keywords: RAPPORT_TRIAGE_MODEL_MAJOR_VETO).",
    )
    triage_model_major_veto: float = Field(
        0.2,
        ge=0,
        lt=1,
        description="With the learned triage model: its probability of a major complaint below "
        "which a major keyword (a solicitor, a fire, a newspaper) does not make a message major "
        "(0: major keywords are never overruled). Must stay below RAPPORT_TRIAGE_MODEL_MAJOR.",
    )
    triage_model_min_units: int = Field(
        4,
        ge=1,
        description="With the learned triage model: the fewest words (or Chinese characters) a "
        "message needs before the model alone makes it a complaint or raises it to major.",
    )
    triage_model_major: float = Field(
        0.35,
        gt=0,
        le=1,
        description="With the learned triage model: its calibrated probability of a major "
        "complaint at or above which a complaint goes to supervisors as major.",
    )
    triage_model_major_negativity: float = Field(
        0.0,
        ge=0,
        le=1,
        description="With the learned triage model: negativity (0–1) from which a question "
        "shows a problem; below it, and with no complaint term, the model alone never makes "
        "a question major (0: the check is off, the model's major threshold decides).",
    )
    triage_model_praise_veto: bool = Field(
        True,
        description="With the learned triage model: a message with positive and no negative "
        "sentiment words and no complaint term is never a general complaint on the model's "
        "word alone (praise and thanks).",
    )
    triage_complaint_negativity: float = Field(
        0.7,
        gt=0,
        le=1,
        description="Negativity (0–1) at or above which a message with no complaint keyword "
        "is still handled as a complaint of severity general (early warning).",
    )
    triage_repeat_contacts: int = Field(
        3,
        ge=1,
        description="The contact about the same open issue (this one included) from which "
        "severity rises one step.",
    )

    # --- Service standards (SPEC §4) ------------------------------------------------------
    enquiry_first_response_minutes: int = Field(
        120, gt=0, description="Promised first human response to an enquiry handed to a person."
    )
    enquiry_resolution_minutes: int = Field(
        1440, gt=0, description="Resolution target for an enquiry handed to a person."
    )
    general_first_response_minutes: int = Field(
        120, gt=0, description="First human response to a complaint of severity general."
    )
    general_resolution_minutes: int = Field(
        1440, gt=0, description="Resolution target for a complaint of severity general."
    )
    quality_first_response_minutes: int = Field(
        120, gt=0, description="First human response to a complaint of severity quality."
    )
    quality_resolution_minutes: int = Field(
        1440, gt=0, description="Resolution target for a complaint of severity quality."
    )
    major_first_response_minutes: int = Field(
        15, gt=0, description="First human response to a major complaint."
    )
    major_resolution_minutes: int = Field(
        1440,
        gt=0,
        description="Resolution target for a major complaint (with a written remediation plan).",
    )
    high_tier_first_response_minutes: int = Field(
        120, gt=0, description="First response to any case of a high-tier customer, at most."
    )
    sla_warn_fraction: float = Field(
        0.8, gt=0, lt=1, description="Share of an SLA target after which staff are warned."
    )
    business_hours: str | None = Field(
        None,
        description="Limit SLA clocks to business hours, e.g. 'mon-fri 09:00-18:00' "
        "(unset: clocks run around the clock).",
    )
    business_timezone: str = Field("UTC", description="Time zone of the business hours.")
    sla_sweep_seconds: int = Field(
        30, gt=0, description="How often the scheduler checks open tickets against their SLA."
    )

    # --- Staff chats and the agent desk ---------------------------------------------------
    staff_chat_id: int | None = Field(
        None, description="Staff group that receives ticket cards, warnings and escalations."
    )
    supervisor_chat_id: int | None = Field(
        None, description="Chat that also receives escalations to the supervisor level."
    )
    manager_chat_id: int | None = Field(
        None, description="Chat that also receives escalations to the manager level."
    )
    staff_topics: bool = Field(
        True,
        description="Give every ticket its own topic in the staff group (a forum supergroup "
        "where the bot may manage topics); off: cards go to the group itself.",
    )
    desk_mode: Literal["direct", "topic"] = Field(
        "direct",
        description="Where a taken-over conversation runs: 'direct' (the agent's private chat "
        "with the bot; scales past the group's 20 messages a minute) or 'topic' (the ticket's "
        "topic in the staff group).",
    )
    desk_sign_replies: bool = Field(
        False,
        description="Send an agent's text to the customer signed with the agent's first name "
        "(otherwise the message is copied as written, without a name).",
    )
    staff_locale: Literal["en", "zh-Hans", "zh-Hant"] = Field(
        "en", description="Language of messages to staff."
    )

    # --- Satisfaction ratings and the after-sales revisit (SPEC §4, §6, §8) ----------------
    rating_reopen_at_most: int = Field(
        2,
        ge=1,
        le=5,
        description="A rating (1–5) at or below this reopens the ticket and alerts a supervisor.",
    )
    rating_window_days: int = Field(
        30,
        gt=0,
        description="Days after a resolution during which the customer's rating buttons work.",
    )
    rating_comment_max_chars: int = Field(
        1000, gt=0, description="Longest rating comment kept; longer ones are cut."
    )
    nps_comment_minutes: int = Field(
        60,
        gt=0,
        description="Satisfaction survey: after a score, how many minutes the customer's next "
        "text message is taken as its comment, and a new press may change the score.",
    )
    nps_answer_days: int = Field(
        30,
        gt=0,
        description="Satisfaction survey: days after the send that its score buttons work.",
    )
    nps_detractor_at_most: int = Field(
        6,
        ge=0,
        le=10,
        description="Satisfaction survey: a score (0–10) at or below this opens a follow-up task "
        "for the supervisors (NPS counts 0–6 as detractors whatever this says).",
    )
    revisit_after_days: int = Field(
        7,
        gt=0,
        description="Days after a resolution when the after-sales revisit asks how things are.",
    )
    revisit_sweep_seconds: int = Field(
        3600,
        gt=0,
        description="How often the scheduler looks for revisits that fell due without being "
        "sent (a safety net behind the job scheduled at each resolution).",
    )

    # --- Engagement (SPEC §8) -------------------------------------------------------------
    playbook_file: str | None = Field(
        None,
        description="The engagement playbook (YAML); unset: the shipped default, which "
        "implements SPEC §8 (`rapport playbook check` validates a file).",
    )
    engagement_run_seconds: int = Field(
        3600,
        gt=0,
        description="How often the scheduler runs the playbook and queues what is due.",
    )
    quiet_hours_start: str = Field(
        "21:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Start of the quiet hours (HH:MM, customer's local time): marketing "
        "messages due then are held, never dropped.",
    )
    quiet_hours_end: str = Field(
        "09:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="End of the quiet hours (HH:MM, customer's local time): held marketing "
        "messages go out from then.",
    )
    coupon_code_length: int = Field(
        8,
        ge=8,
        le=16,
        multiple_of=4,
        description="Symbols of a coupon code (shown in groups of 4; no 0/O, 1/I; 5 random "
        "bits each, so 8 make 40 bits).",
    )
    loyalty_points_per_unit: int = Field(
        1,
        ge=0,
        description="Loyalty points per currency unit of a paid order (0: no points); a "
        "refunded order's points are taken back.",
    )
    loyalty_window_days: int = Field(
        365, gt=0, description="Member levels count the points of orders paid in these days."
    )
    loyalty_levels: str = Field(
        "member:0,silver:500,gold:2000",
        pattern=r"^\s*[a-z][a-z0-9_-]*:\d+(\s*,\s*[a-z][a-z0-9_-]*:\d+)*\s*$",
        description="Member levels as name:points, ascending from 0 (points within "
        "`loyalty_window_days`); each name has a template loyalty.level.<name>.",
    )
    loyalty_redeem_points: int = Field(
        500, ge=1, description="Points one loyalty coupon costs (the /points button)."
    )
    loyalty_coupon_cents: int = Field(
        5000,
        ge=1,
        description="What a loyalty coupon takes off an order, in cents of `shop_currency`.",
    )
    loyalty_coupon_valid_days: int = Field(
        30, ge=1, description="Days a loyalty coupon can be used."
    )
    marketing_cap: int = Field(
        2, ge=1, description="Most marketing messages one customer receives per cap window."
    )
    marketing_cap_days: int = Field(
        7, ge=1, description="The cap window, in days (a trailing window, not a calendar week)."
    )
    birthday_grace_days: int = Field(
        3,
        ge=0,
        description="Days after a birthday during which its greeting is still sent (a missed "
        "run, quiet hours or the cap may push it past the day).",
    )
    news_fresh_days: int = Field(
        14,
        ge=1,
        description="Product news older than this many days is no longer sent; newer items go "
        "to each mid-tier customer once (those added since their last news message).",
    )
    news_max_items: int = Field(
        3, ge=1, le=10, description="Most news items in one message (the newest)."
    )
    profile_fields: str = Field(
        "language,timezone,link",
        pattern=r"^\s*(language|timezone|link)(\s*,\s*(language|timezone|link))*\s*$",
        description="What a complete profile has (SPEC §2), in the order the bot asks for the "
        "missing ones: any of language, timezone, link (the shop account).",
    )
    profile_language_from_telegram: bool = Field(
        False,
        description="Whether the language a customer's Telegram app reports counts as their "
        "language in a profile; otherwise only their own choice does.",
    )
    profile_timezones: str = Field(
        "Asia/Shanghai,Asia/Hong_Kong,Asia/Taipei,Asia/Singapore",
        description="The time zones the profile question offers as buttons (IANA names, comma "
        "separated; a customer may also type any other).",
    )
    profile_first_order_hours: int = Field(
        48,
        ge=1,
        description="A customer's first order recorded within these hours still calls for the "
        "profile questions (checked with each playbook run).",
    )
    profile_target_percent: float = Field(
        95.0,
        gt=0,
        le=100,
        description="SPEC §2: the share of active customers with a complete profile that "
        "`rapport report profile` measures against.",
    )
    task_orders_shown: int = Field(
        3,
        ge=0,
        le=10,
        description="Most recent orders a staff task's card lists (an advisor's monthly "
        "check-in, a call-back, a survey follow-up).",
    )
    unhappy_complaint_days: int = Field(
        180,
        ge=1,
        description="Win-back: a complaint within this many days makes a customer "
        "'unhappy with service'.",
    )
    unhappy_rating_at_most: int = Field(
        2,
        ge=1,
        le=5,
        description="Win-back: a rating (1–5) at or below this makes a customer 'unhappy "
        "with service'.",
    )
    price_sensitive_coupon_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Win-back: a customer whose share of orders that used a coupon is above "
        "this is 'price-sensitive'.",
    )
    price_sensitive_tags: str = Field(
        "price-sensitive,value-seeker",
        description="Win-back: need tags (comma-separated) that mark a customer as "
        "'price-sensitive' (they mentioned price).",
    )

    # --- Campaigns (SPEC §10; docs/campaigns.md) ------------------------------------------
    campaign_tick_seconds: int = Field(
        30,
        gt=0,
        description="How often the scheduler starts due campaigns and queues their next messages.",
    )
    campaign_batch_size: int = Field(
        200,
        ge=1,
        le=5000,
        description="Campaign recipients frozen or decided per database transaction (the "
        "decided batch's messages go to the outbox in one multi-row insert).",
    )
    campaign_queue_ahead: int = Field(
        2000,
        ge=1,
        description="Most messages of one campaign waiting in the outbox at once (the outbox "
        "sender paces them; a pause holds them there until resume).",
    )
    campaign_report_days: int = Field(
        14,
        ge=1,
        description="A campaign report counts orders placed within this many days of the "
        "message (or, for the holdout, of when it would have gone out).",
    )
    campaign_confidence: float = Field(
        0.95,
        gt=0.5,
        lt=1,
        description="Confidence level of a campaign report's uplift intervals.",
    )
    campaign_wizard_percent_presets: str = Field(
        "5,10,15,20",
        pattern=r"^\d{1,3}(,\d{1,3})*$",
        description="The /campaign wizard's percent-off coupon buttons (comma-separated %).",
    )
    campaign_wizard_fixed_presets_cents: str = Field(
        "500,1000,2000",
        pattern=r"^\d{1,7}(,\d{1,7})*$",
        description="The /campaign wizard's amount-off coupon buttons (comma-separated cents).",
    )
    campaign_wizard_holdout_presets: str = Field(
        "0,5,10,20",
        pattern=r"^\d{1,2}(,\d{1,2})*$",
        description="The /campaign wizard's holdout buttons (comma-separated %, at most 50).",
    )
    campaign_wizard_coupon_valid_days: int = Field(
        14,
        ge=1,
        description="How long a coupon chosen in the /campaign wizard stays valid.",
    )
    campaign_list_limit: int = Field(
        10,
        ge=1,
        le=50,
        description="How many campaigns /campaigns lists (newest first).",
    )

    # --- Order events endpoint (issue #10; docs/events.md) --------------------------------
    events_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Port of the order events endpoint (POST /events/orders) that `rapport "
        "run` serves; unset: no endpoint. 0 picks a free port (tests). Needs "
        "RAPPORT_EVENTS_SECRET.",
    )
    events_host: str = Field(
        "127.0.0.1",
        description="Address the order events endpoint listens on (put a TLS proxy in front "
        "to expose it).",
    )
    events_secret: SecretStr | None = Field(
        None,
        description="Shared secret the shop signs each order event with (HMAC-SHA256 over the "
        "body). Never logged.",
    )
    events_max_body_bytes: int = Field(
        64 * 1024,
        gt=0,
        description="Largest order event body accepted, in bytes; a larger one gets 413.",
    )

    # --- Delivery within Telegram's limits (SPEC §11) -------------------------------------
    chat_messages_per_second: float = Field(
        1.0, gt=0, description="Sustained messages per second to one chat."
    )
    chat_burst: int = Field(3, ge=1, description="Messages one chat may receive in a burst.")
    global_messages_per_second: float = Field(
        30.0, gt=0, description="Messages per second across all chats."
    )
    group_messages_per_minute: int = Field(
        20, gt=0, description="Messages per minute into one group."
    )
    paid_broadcast: bool = Field(
        False,
        description="Send new messages and copies with Telegram's allow_paid_broadcast, which "
        "lifts the bot-wide limit to paid_messages_per_second for a fee in Telegram Stars per "
        "message, taken from the bot's balance; per-chat and per-group limits still hold.",
    )
    paid_messages_per_second: float = Field(
        1000.0,
        gt=0,
        description="Messages per second across all chats while paid_broadcast is on "
        "(Telegram allows up to 1000); replaces global_messages_per_second.",
    )
    pacing_margin_seconds: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Extra wait kept in hand when pacing, so that jitter in the time a request "
        "takes to arrive never makes it arrive before Telegram's limit allows it; costs no "
        "steady rate (docs/performance.md: 0.05 earned 429s at 1000/s).",
    )
    max_send_attempts: int = Field(
        5, ge=1, description="Attempts at one message after 429s and transient errors."
    )

    # --- The outbox of scheduled messages (issue #9) -------------------------------------
    outbox_batch_size: int = Field(
        50,
        ge=1,
        description="Outbox rows one process has in flight (being sent, or sent and not yet "
        "recorded), the most a process killed mid-send may repeat; it claims up to one more "
        "batch ahead, which waits unsent.",
    )
    outbox_paid_batch_size: int = Field(
        200,
        ge=1,
        description="outbox_batch_size while paid_broadcast is on: at 1000 messages/s more "
        "rows must be in flight; a process killed mid-send may repeat at most this many.",
    )
    outbox_record_wait_seconds: float = Field(
        0.02,
        ge=0,
        description="How long the outbox sender gathers outcomes before recording them in one "
        "transaction (more rows per transaction at high rates, at this much latency).",
    )
    outbox_poll_seconds: float = Field(
        1.0, gt=0, description="How long an idle outbox sender waits before looking again."
    )
    outbox_max_attempts: int = Field(
        5,
        ge=1,
        description="Network errors or 5xx answers after which an outbox message is failed.",
    )
    outbox_backoff_initial_seconds: float = Field(
        2.0, gt=0, description="Wait before retrying an outbox message after its first failure."
    )
    outbox_backoff_max_seconds: float = Field(
        300.0, gt=0, description="Longest wait between retries of an outbox message (doubling)."
    )
    outbox_claim_timeout_seconds: float = Field(
        300.0,
        gt=0,
        description="An outbox message claimed longer ago than this (its process died) is "
        "claimed and sent again; keep it above the longest 429 pause.",
    )

    # --- Customer records, import and value tiers (SPEC §2, §3, §12) ---------------------
    encryption_key: SecretStr | None = Field(
        None,
        description="Key for personal data at rest (phone, e-mail, birthday): 32 random bytes, "
        "URL-safe base64 (`rapport customer new-key`). Without it rapport stores no personal "
        "data. Never logged.",
    )
    bot_username: str = Field(
        "rapport_bot", description="The bot's @username, for t.me deep links (without @)."
    )
    link_token_days: int = Field(
        14,
        gt=0,
        description="Days a customer's t.me link (`rapport customer link-url`) stays valid.",
    )
    phone_country_code: str = Field(
        "",
        pattern=r"^[0-9]{0,4}$",
        description="Country calling code assumed for national phone numbers starting with 0 "
        "(e.g. 44); empty: such numbers are kept as written.",
    )
    shop_currency: str = Field(
        "CNY", min_length=3, max_length=3, description="Currency of imported order amounts."
    )
    import_batch_size: int = Field(
        10_000, gt=0, description="Rows per transaction when importing customers or orders."
    )
    import_sqlite_cache_mib: int = Field(
        64,
        ge=1,
        description="SQLite page cache of the order import's connection, in MiB (the "
        "default 2 MiB thrashes once the order indexes outgrow it).",
    )
    rfm_window_days: int = Field(365, gt=0, description="Trailing RFM window, in UTC days.")
    tier_high_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Share of customers with a paid order in the window put in the high tier.",
    )
    tier_base_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Share of customers with a paid order in the window put in the base tier.",
    )
    lifecycle_new_days: int = Field(
        30, ge=0, description="A first paid order at most this many days ago: stage new."
    )
    lifecycle_active_days: int = Field(
        90, ge=0, description="A last paid order at most this many days ago: stage active."
    )
    lifecycle_dormant_days: int = Field(
        180,
        ge=0,
        description="A last paid order at most this many days ago: dormant; older: churned.",
    )

    # --- Scheduler (timed jobs, one leader among processes) --------------------------------
    scheduler_misfire_grace_seconds: int = Field(
        3600,
        gt=0,
        description="A job that fell due while no process ran jobs still runs if at most this "
        "late (after a restart, say); later than that it is skipped and logged.",
    )
    scheduler_lease_ttl_seconds: float = Field(
        30.0,
        gt=0,
        description="Validity of the job-runner lease: if its holder stops renewing, another "
        "process takes over after at most this long.",
    )
    scheduler_lease_renew_seconds: float = Field(
        10.0,
        gt=0,
        description="How often a process renews (or tries to take) the job-runner lease; the "
        "leader also looks for jobs added by other processes this often.",
    )
    scheduler_stop_timeout_seconds: float = Field(
        10.0,
        ge=0,
        description="At shutdown, how long running jobs may take to finish before they are "
        "cancelled.",
    )

    log_level: str = Field("INFO", description="Python logging level.")

    @field_validator("profile_timezones")
    @classmethod
    def _zones_are_zones(cls, value: str) -> str:
        from bot.core.profile import valid_zone

        names = [name.strip() for name in value.split(",") if name.strip()]
        wrong = [name for name in names if valid_zone(name) != name]
        if not names or wrong:
            raise ValueError(f"not IANA time zones: {', '.join(wrong) or '(none given)'}")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url_is_a_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be a URL such as https://bot.example.com/telegram")
        return value

    @field_validator("webhook_listen", "health_listen")
    @classmethod
    def _listen_is_host_port(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("must be HOST:PORT, such as 0.0.0.0:8081")
        return value

    @staticmethod
    def host_port(listen: str) -> tuple[str, int]:
        """A checked ``HOST:PORT`` setting (``webhook_listen``, ``health_listen``) as the
        host (an IPv6 address without its brackets) and the port."""
        host, _, port = listen.rpartition(":")
        return host.strip("[]"), int(port)

    @field_validator("webhook_secret")
    @classmethod
    def _secret_is_telegram_shaped(cls, value: SecretStr | None) -> SecretStr | None:
        shaped = value is None or re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value())
        if not shaped:
            raise ValueError("must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("loyalty_levels")
    @classmethod
    def _levels_ascend(cls, value: str) -> str:
        parse_levels(value)  # ValueError names what is wrong
        return value

    @field_validator("faq_confirm_threshold")
    @classmethod
    def _confirm_below_answer(cls, value: float, info: object) -> float:
        data = getattr(info, "data", {})
        answer = data.get("faq_answer_threshold", 100.0)
        if value > answer:
            raise ValueError("faq_confirm_threshold must not exceed faq_answer_threshold")
        return value

    @field_validator("triage_model_major")
    @classmethod
    def _major_above_its_veto(cls, value: float, info: object) -> float:
        data = getattr(info, "data", {})
        if data.get("triage_model_major_veto", 0.0) >= value:
            raise ValueError("triage_model_major must be above triage_model_major_veto")
        return value

    @field_validator("scheduler_lease_renew_seconds")
    @classmethod
    def _renew_within_ttl(cls, value: float, info: object) -> float:
        data = getattr(info, "data", {})
        ttl = data.get("scheduler_lease_ttl_seconds", 30.0)
        if value >= ttl:
            raise ValueError(
                "scheduler_lease_renew_seconds must be below scheduler_lease_ttl_seconds"
            )
        return value

    def token_value(self) -> str:
        """The token for the framework; raises a clear error when none is configured."""
        if self.bot_token is None:
            raise ValueError(
                "No bot token: set TELEGRAM_BOT_TOKEN (or RAPPORT_BOT_TOKEN), "
                "or use `rapport demo`, which needs none."
            )
        return self.bot_token.get_secret_value()
