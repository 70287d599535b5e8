"""Builds one conversation the way Genesys analytics records it, from who talked to whom over what.

Field placement follows the real analytics API:
* inbound voice: customer session ani = caller (`tel:+...`), dnis = the org's DID or toll-free number;
* outbound voice: ani = the org's number, dnis = the customer; the called party has purpose `external`;
* inbound e-mail: addressFrom = customer, addressTo = the org's address; outbound the reverse;
* message (SMS/WhatsApp): addressFrom/addressTo hold the customer's and the org's numbers (plain E.164);
* callback: callbackNumbers (plain E.164) and callbackUserName, then an outbound voice leg.
The ACD and agent participants repeat ani/dnis/addresses (analytics denormalises them), and the agent
session's `remote` names the customer.

With `shapes="real"` (settings.data_shapes) a conversation writes the customer's number the way carriers
and edges do: `tel:+E164`, `sip:+E164@edge;user=phone`, or, when the customer's number is in the same
country as the org number of the call, the national form (`020 7946 0958`, `sip:02079460958@trunk`);
callback numbers as typed (`+44 20 7946 0958`, national); e-mail headers with display names and, for
customers with two addresses, both (`"Anna Berg" <anna@…>, anna.b@…`); and a share of the customers'
participants carry flow attributes holding their e-mail or callback number. Withheld callers and
channel-id senders are specs with a `raw_address` (see seed.py): written as given, named by nobody.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers

from genesys_sandbox import seed_data as words
from genesys_sandbox.identity import is_email, tel_uri
from genesys_sandbox.model import (
    Agent,
    Conversation,
    Customer,
    Participant,
    Queue,
    Recording,
    Segment,
    Session,
)

MEDIA_TYPES = ("voice", "email", "message", "callback")
DIRECTIONS = ("inbound", "outbound")
RECORDING_MEDIA = {"voice": "audio", "callback": "audio", "email": "email", "message": "message"}
DATA_SHAPES = ("clean", "real")
# data_shapes="real": how often each written form of a customer number appears on a call
_PHONE_FORMS = (("tel", 45), ("sip", 25), ("national", 15), ("sip_national", 15))
_ATTRIBUTE_SHARE = 0.3


@dataclass(frozen=True)
class OrgChannels:
    """The org's own addresses: they show up as DNIS / addressTo on inbound traffic."""

    dids: tuple[str, ...]
    toll_free: tuple[str, ...]
    sms_numbers: tuple[str, ...]
    email_addresses: tuple[str, ...]

    @property
    def all_numbers(self) -> tuple[str, ...]:
        return self.dids + self.toll_free + self.sms_numbers


def make_id_source(rng: random.Random) -> Callable[[], str]:
    def next_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    return next_id


@dataclass(frozen=True)
class ConversationSpec:
    customer: Customer
    media: str
    direction: str
    start: datetime
    end: datetime | None
    agent: Agent
    queue: Queue
    contact_value: str  # the customer's phone (E.164) or e-mail used on this conversation
    show_external_contact: bool
    recording: bool
    protected: bool = False
    caller_id_style: bool = False  # unidentified caller shown by a CNAM-style upper-case name
    shapes: str = "clean"  # settings.data_shapes
    # set only for unattributed traffic: the customer side's raw address (a withheld caller, a channel id)
    raw_address: str | None = None


def build_conversation(
    spec: ConversationSpec,
    channels: OrgChannels,
    division_id: str,
    rng: random.Random,
    new_id: Callable[[], str],
) -> Conversation:
    if spec.media not in MEDIA_TYPES:
        raise ValueError(f"media must be one of {MEDIA_TYPES}")
    if spec.shapes not in DATA_SHAPES:
        raise ValueError(f"data_shapes must be one of {DATA_SHAPES}")
    if spec.direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}")
    if spec.raw_address is None and spec.media == "email" and not is_email(spec.contact_value):
        raise ValueError("an email conversation needs an e-mail address of the customer")
    if spec.raw_address is None and spec.media != "email" and is_email(spec.contact_value):
        raise ValueError(f"a {spec.media} conversation needs a phone number of the customer")
    if spec.end is not None and spec.end < spec.start:
        raise ValueError("end must not be before start")
    builder = _Builder(spec, channels, rng, new_id)
    conversation = Conversation(
        id=new_id(),
        start=spec.start,
        end=spec.end,
        originating_direction="outbound" if spec.direction == "outbound" else "inbound",
        media_type=spec.media,
        initiator="agent" if spec.direction == "outbound" else "customer",
        division_id=division_id,
        customer_id=spec.customer.id,
        protected=spec.protected,
    )
    conversation.participants = builder.participants()
    if spec.recording:
        conversation.recordings = builder.recordings(conversation.id)
    return conversation


class _Builder:
    def __init__(
        self, spec: ConversationSpec, channels: OrgChannels, rng: random.Random, new_id: Callable[[], str]
    ) -> None:
        self.spec = spec
        self.rng = rng
        self.new_id = new_id
        self.inbound = spec.direction == "inbound"
        self.display_name = self._display_name()
        wait = (
            timedelta(seconds=rng.randint(5, 180)) if self.inbound else timedelta(seconds=rng.randint(3, 25))
        )
        self.answer = spec.start + wait
        if spec.end is not None and self.answer > spec.end:
            self.answer = spec.start + (spec.end - spec.start) / 2
        self.agent_session_ids: list[str] = []
        if spec.media == "email":
            self.org_address = rng.choice(channels.email_addresses)
        elif spec.media == "message":
            self.org_address = rng.choice(channels.sms_numbers)
        elif self.inbound and spec.media == "voice":
            self.org_address = rng.choice(channels.dids + channels.toll_free)
        else:
            self.org_address = rng.choice(channels.dids)
        self.message_type = rng.choice(("SMS", "SMS", "WhatsApp")) if spec.media == "message" else None
        self.real = spec.shapes == "real"
        # How this conversation writes the customer's and the org's addresses (the same in every
        # participant's session, as analytics denormalises them). "clean" draws nothing from rng, so
        # clean orgs stay byte-identical to those seeded before data shapes existed.
        self.customer_phone = tel_uri(spec.contact_value)
        self.org_phone = tel_uri(self.org_address)
        self.customer_email = spec.contact_value
        self.callback_number = spec.contact_value
        if spec.raw_address is not None:
            self.customer_phone = self.customer_email = self.callback_number = spec.raw_address
            if spec.media == "message":
                self.message_type = "Facebook"
        elif self.real:
            self._real_shapes()

    def _real_shapes(self) -> None:
        spec, rng = self.spec, self.rng
        if spec.media == "email":
            self.customer_email = self._email_header()
            return
        if spec.media == "message":
            return  # SMS/WhatsApp addresses stay plain E.164; channel ids are unattributed traffic
        host = rng.choice(words.ORG_SIP_HOSTS)
        self.org_phone = f"sip:{self.org_address}@{host};user=phone" if rng.random() < 0.3 else self.org_phone
        form = rng.choices([f for f, _ in _PHONE_FORMS], [w for _, w in _PHONE_FORMS])[0]
        number = phonenumbers.parse(spec.contact_value)
        local = _same_country(number, self.org_address)
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        if form == "national" and local:
            self.customer_phone = national
        elif form == "sip_national" and local:
            self.customer_phone = f"sip:{''.join(c for c in national if c.isdigit())}@{host};user=phone"
        elif form in ("sip", "sip_national"):
            self.customer_phone = f"sip:{spec.contact_value}@{host};user=phone"
        international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        self.callback_number = rng.choice(
            (spec.contact_value, international, national if local else international)
        )

    def _email_header(self) -> str:
        spec, rng = self.spec, self.rng
        name = spec.customer.name
        first, _, last = name.partition(" ")
        shown = rng.choice((f'"{name}"', f'"{last}, {first}"' if last else f'"{name}"', name))
        others = [e for e in spec.customer.emails if e.lower() != spec.contact_value.lower()]
        roll = rng.random()
        if roll < 0.35:
            return spec.contact_value
        if roll < 0.75 or not others:
            return f"{shown} <{spec.contact_value}>"
        return f"{shown} <{spec.contact_value}>, {others[0]}"

    def _attributes(self) -> dict[str, str]:
        spec, rng = self.spec, self.rng
        attributes: dict[str, str] = {}
        if spec.customer.emails and rng.random() < 0.6:
            attributes[rng.choice(words.EMAIL_ATTRIBUTE_KEYS)] = rng.choice(spec.customer.emails)
        if spec.customer.phones and (not attributes or rng.random() < 0.5):
            number = phonenumbers.parse(rng.choice(spec.customer.phones))
            style = rng.choice(
                (phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
                + (
                    (phonenumbers.PhoneNumberFormat.NATIONAL,)
                    if _same_country(number, self.org_address)
                    else ()
                )
            )
            attributes[rng.choice(words.PHONE_ATTRIBUTE_KEYS)] = phonenumbers.format_number(number, style)
        return attributes

    def _display_name(self) -> str:
        spec = self.spec
        if spec.show_external_contact or spec.media == "email":
            return spec.customer.name
        if spec.caller_id_style:
            return spec.customer.name.upper()
        return spec.contact_value

    # --- participants -------------------------------------------------------------------------------
    def participants(self) -> list[Participant]:
        result = [self._customer()]
        if self.inbound:
            result.append(self._acd())
        result.append(self._agent())
        return result

    def _customer(self) -> Participant:
        spec = self.spec
        participant = Participant(
            participant_id=self.new_id(),
            purpose="customer" if self.inbound else "external",
            name=self.display_name,
            external_contact_id=spec.customer.external_contact_id if spec.show_external_contact else None,
        )
        if self.real and spec.raw_address is None and self.rng.random() < _ATTRIBUTE_SHARE:
            participant.attributes = self._attributes()
        end = spec.end
        session = self._session(remote=None)
        session.segments = [Segment(spec.start, end, "interact" if spec.media != "callback" else "callback")]
        if end is not None:
            session.segments[-1].disconnect_type = "endpoint" if self.rng.random() < 0.6 else "peer"
        participant.sessions.append(session)
        return participant

    def _acd(self) -> Participant:
        spec = self.spec
        participant = Participant(
            participant_id=self.new_id(), purpose="acd", name=spec.queue.name, queue_id=spec.queue.id
        )
        session = self._session(remote=self.display_name)
        session.segments = [Segment(spec.start, self.answer, "delay", queue_id=spec.queue.id)]
        if spec.end is not None or self.answer <= spec.start:
            session.segments[0].disconnect_type = "transfer"
        participant.sessions.append(session)
        return participant

    def _agent(self) -> Participant:
        spec = self.spec
        participant = Participant(
            participant_id=self.new_id(), purpose="agent", name=spec.agent.name, user_id=spec.agent.id
        )
        session = self._session(remote=self.display_name)
        session.recording = spec.recording and spec.media in ("voice", "email", "message")
        session.segments = self._agent_segments()
        participant.sessions.append(session)
        if spec.media == "callback":
            # the agent dials the callback number: an outbound voice leg of the same conversation
            voice = Session(
                session_id=self.new_id(),
                media_type="voice",
                direction="outbound",
                ani=self.org_phone,
                dnis=self.customer_phone,
                remote=self.display_name,
                provider="Edge",
                recording=spec.recording,
                segments=[Segment(self.answer, spec.end, "interact")],
            )
            if spec.end is not None:
                voice.segments[0].disconnect_type = "client"
            participant.sessions.append(voice)
            self.agent_session_ids.append(voice.session_id)
        else:
            self.agent_session_ids.append(session.session_id)
        return participant

    def _agent_segments(self) -> list[Segment]:
        spec = self.spec
        ring = timedelta(seconds=self.rng.randint(2, 15))
        alert_start = spec.start if not self.inbound else max(spec.start, self.answer - ring)
        segments = [Segment(alert_start, self.answer, "alert")]
        if spec.end is None:
            segments.append(
                Segment(self.answer, None, "interact", queue_id=spec.queue.id if self.inbound else None)
            )
            return segments
        segments.append(
            Segment(self.answer, spec.end, "interact", queue_id=spec.queue.id if self.inbound else None)
        )
        segments[-1].disconnect_type = "client" if self.rng.random() < 0.5 else "peer"
        segments.append(Segment(spec.end, spec.end + timedelta(seconds=self.rng.randint(10, 120)), "wrapup"))
        return segments

    def _session(self, remote: str | None) -> Session:
        spec = self.spec
        session = Session(
            session_id=self.new_id(), media_type=spec.media, direction=spec.direction, remote=remote
        )
        customer_value = spec.contact_value if spec.raw_address is None else spec.raw_address
        if spec.media == "voice":
            session.provider = "Edge"
            if self.inbound:
                session.ani, session.dnis = self.customer_phone, self.org_phone
            else:
                session.ani, session.dnis = self.org_phone, self.customer_phone
        elif spec.media == "email":
            session.provider = "PureCloud Email"
            if self.inbound:
                session.address_from, session.address_to = self.customer_email, self.org_address
            else:
                session.address_from, session.address_to = self.org_address, self.customer_email
        elif spec.media == "message":
            session.provider = "PureCloud Messaging"
            session.message_type = self.message_type
            if self.inbound:
                session.address_from, session.address_to = customer_value, self.org_address
            else:
                session.address_from, session.address_to = self.org_address, customer_value
        else:  # callback
            session.provider = "PureCloud Callback"
            session.callback_numbers = [self.callback_number]
            session.callback_user_name = spec.customer.name
        return session

    # --- recordings ---------------------------------------------------------------------------------
    def recordings(self, conversation_id: str) -> list[Recording]:
        spec = self.spec
        recordings = []
        for session_id in self.agent_session_ids:
            recordings.append(
                Recording(
                    id=self.new_id(),
                    conversation_id=conversation_id,
                    session_id=session_id,
                    media=RECORDING_MEDIA[spec.media],
                    start=self.answer,
                    end=spec.end,
                    file_state="UPLOADING" if spec.end is None else "AVAILABLE",
                )
            )
        return recordings


def _same_country(number: phonenumbers.PhoneNumber, org_e164: str) -> bool:
    """Carriers present a caller in national form only on a trunk of the caller's own country."""
    if not org_e164.startswith("+"):
        return False  # an e-mail conversation: no trunk, no national form
    org = phonenumbers.parse(org_e164)
    return phonenumbers.region_code_for_number(number) == phonenumbers.region_code_for_number(org)
