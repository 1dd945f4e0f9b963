"""A simulated digital contact center: emails, chats, SMS (and social) for the demo and tests.

Arrivals are Poisson at ``per_minute``, the channel drawn from ``mix``; the
senders are the telephony simulator's seeded customers (French and
international), with an email address, a subject and a body in their
language. Chat (and SMS) customers write again: once an agent accepts, and
after each agent reply, until their ``chat_turns`` are spent, when a chat
customer says goodbye and closes the conversation.

Toward the hub it is a :class:`~ctibridge.digital.base.DigitalConnector`; the
hub's commands are checked and reflected as events. It also takes intake
posts (REST), so a demo can mix simulated and hand-made interactions.
World methods (``arrive``, ``customer_writes``, ``customer_closes``,
``open_interactions``) play the customers for tests. Time goes through the
injected clock and randomness through seeded generators: the same seed and
the same actions give the same events.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..clock import Clock
from ..model.agent import AgentStatus
from ..model.errors import ConfigError, PlatformError
from ..model.events import (
    DigitalResynced,
    InteractionAccepted,
    InteractionArrived,
    InteractionClosed,
    InteractionDeclined,
    InteractionMessage,
    InteractionSnapshot,
    PlatformStatus,
    Sender,
)
from ..model.party import Channel
from ..options import check_each, options_error
from ..telephony.simulator.customers import REASONS, Customer, CustomerBook
from .base import (
    DIGITAL_CHANNELS,
    DigitalCapability,
    Health,
    require,
)
from .intake import IntakeMessage, event_for
from .platform import DigitalPlatform

ALL_DIGITAL_CAPABILITIES = frozenset(DigitalCapability)
DEFAULT_MIX: dict[Channel, float] = {Channel.EMAIL: 5, Channel.CHAT: 4, Channel.SMS: 1}

_DOMAINS = {
    "FR": ("orange.fr", "free.fr", "gmail.com", "laposte.net", "sfr.fr", "wanadoo.fr"),
    "BE": ("skynet.be", "telenet.be", "gmail.com"),
    "CH": ("bluewin.ch", "gmail.com", "sunrise.ch"),
    "GB": ("btinternet.com", "gmail.com", "outlook.com"),
    "DE": ("web.de", "gmx.de", "t-online.de"),
    "US": ("gmail.com", "yahoo.com", "outlook.com"),
}
# reason -> (subject, first message); {n} is an order/invoice/contract number.
_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "fr": {
        "billing": ("Facture n° {n} : montant incorrect",
                    "Ma dernière facture (n° {n}) compte deux fois l'abonnement du mois."),
        "delivery": ("Commande {n} toujours pas reçue",
                     "Ma commande {n} devait arriver mardi et le suivi n'a pas bougé."),
        "technical": ("Impossible de me connecter à mon espace client",
                      "Depuis ce matin, mon mot de passe est refusé sur l'espace client."),
        "contract": ("Changement d'adresse sur le contrat {n}",
                     "Je déménage le mois prochain : comment mettre à jour le contrat {n} ?"),
        "complaint": ("Réclamation : rendez-vous manqué",
                      "Le technicien n'est pas venu au rendez-vous de jeudi, sans prévenir."),
        "information": ("Question sur vos offres",
                        "Bonjour, l'offre famille est-elle disponible dans ma région ?"),
        "cancellation": ("Demande de résiliation du contrat {n}",
                         "Je souhaite résilier le contrat {n} à la fin du mois."),
    },
    "en": {
        "billing": ("Invoice {n}: wrong amount",
                    "My last invoice ({n}) charges the monthly plan twice."),
        "delivery": ("Order {n} not delivered yet",
                     "Order {n} was due on Tuesday and tracking has not moved."),
        "technical": ("Cannot log in to my account",
                      "Since this morning my password is refused on the customer portal."),
        "contract": ("Change of address for contract {n}",
                     "I am moving next month: how do I update contract {n}?"),
        "complaint": ("Complaint: missed appointment",
                      "The technician did not come on Thursday and nobody called."),
        "information": ("Question about your plans",
                        "Hello, is the family plan available where I live?"),
        "cancellation": ("Cancelling contract {n}",
                         "I would like to cancel contract {n} at the end of the month."),
    },
}
_FOLLOW_UPS = {
    "fr": ("Vous êtes toujours là ?", "D'accord, merci.", "Et pour le remboursement ?",
           "Je vous envoie la capture d'écran.", "C'est bon, ça fonctionne maintenant."),
    "en": ("Are you still there?", "OK, thanks.", "What about the refund?",
           "I am sending you a screenshot.", "Fine, it works now."),
}
_GOODBYE = {"fr": "Merci pour votre aide, bonne journée !", "en": "Thanks for your help, bye!"}
_SIGN = {"fr": ("Bonjour,", "Cordialement,"), "en": ("Hello,", "Kind regards,")}


@dataclass(slots=True)
class _Conversation:
    ref: str
    channel: Channel
    sender: Sender
    language: str
    subject: str | None
    queue: str | None
    turns_left: int
    agent: str | None = None
    messages: itertools.count[int] = field(default_factory=lambda: itertools.count(2))
    timer: asyncio.Task[None] | None = None
    gives_up: asyncio.Task[None] | None = None  # leaves if nobody accepts in time
    # (when, who, text): what the platform's conversation page shows.
    transcript: list[tuple[datetime, str, str]] = field(default_factory=list)


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return ".".join("".join(ch for ch in part if ch.isalnum()).lower()
                    for part in ascii_name.split())


class DigitalSimulator(DigitalPlatform):
    """Simulated customers writing in; the hub's commands reflected back as events."""

    def __init__(
        self, name: str = "digisim", *, clock: Clock | None = None, seed: int = 42,
        per_minute: float = 2.0, mix: Mapping[Channel, float] | None = None,
        queues: Sequence[str] = ("support", "sales"),
        reply_delay: tuple[float, float] = (15.0, 60.0), chat_turns: tuple[int, int] = (1, 3),
        capabilities: frozenset[DigitalCapability] = ALL_DIGITAL_CAPABILITIES,
        patience: tuple[float, float] | None = None,
    ) -> None:
        weights = dict(DEFAULT_MIX if mix is None else mix)
        if per_minute < 0:
            raise ConfigError(f"digital simulator: per_minute must not be negative, "
                              f"not {per_minute}", code="config-invalid")
        if not weights or any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise ConfigError("digital simulator: mix weights must be non-negative with a "
                              "positive total", code="config-invalid")
        super().__init__(name, clock)
        self.seed = seed
        self.per_minute = float(per_minute)
        self.capabilities = frozenset(capabilities)
        self.channels = frozenset(DIGITAL_CHANNELS)
        self.queues = tuple(queues)
        self.reply_delay = reply_delay
        self.chat_turns = chat_turns
        # A chat or SMS customer nobody accepted within a draw of this range leaves
        # (None: they wait for ever, as e-mails always do).
        self.patience = patience
        # The share of the full rate to send now (the demo: of the agents at work).
        self.scale: Callable[[], float] | None = None
        self._mix = [c for c, w in weights.items() if w > 0]
        self._cum = list(itertools.accumulate(w for w in weights.values() if w > 0))
        self._book = CustomerBook(seed)
        self._rng = random.Random(f"ctibridge-digital-{seed}")
        self._ids = itertools.count(1)
        self._open: dict[str, _Conversation] = {}
        self._arrivals: asyncio.Task[None] | None = None

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, Any], clock: Clock) -> DigitalSimulator:
        return cls(name, clock=clock, **_parse_options(name, options))

    # ------------------------------------------------------------- contract

    async def start(self) -> None:
        if self._up:
            return
        self._up = True
        now = self.clock.now()
        self._emit(PlatformStatus(at=now, up=True, detail="simulated digital contact center"))
        self._emit(DigitalResynced(at=now, interactions=self.open_interactions(),
                                   agents=dict(self.agents)))
        if self.per_minute > 0:
            self._arrivals = asyncio.get_running_loop().create_task(self._arrive_forever(),
                                                                    name=f"{self.name}-arrivals")

    async def stop(self) -> None:
        tasks = [t for t in [self._arrivals, *(c.timer for c in self._open.values()),
                             *(c.gives_up for c in self._open.values())] if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._arrivals = None
        for conv in self._open.values():
            conv.timer = conv.gives_up = None
        self._up = False
        self._end_stream()

    def health(self) -> Health:
        return Health(self._up, "simulated digital contact center" if self._up else "not started")

    def restore(self, interactions: Sequence[InteractionSnapshot]) -> None:
        # Posted through the intake before a restart: open again, with no simulated turns.
        for snap in interactions:
            self._open[snap.ref] = _Conversation(snap.ref, snap.channel, snap.sender, "fr",
                                                 snap.subject, snap.queue, turns_left=0)

    def take(self, message: IntakeMessage, ref: str, *, new: bool) -> None:
        event = event_for(message, ref, new=new, at=self.clock.now())
        if isinstance(event, InteractionArrived):
            self._open[ref] = _Conversation(ref, event.channel, event.sender, "fr",
                                            event.subject, event.queue, turns_left=0)
        elif isinstance(event, InteractionClosed):
            self._forget(ref)
        self._emit(event)

    async def accept(self, ref: str, agent: str) -> None:
        require(self, DigitalCapability.ACCEPT)
        conv = self._conversation(ref)
        if conv.agent is not None:
            raise PlatformError(f"interaction {ref} is already with {conv.agent}",
                                code="already-accepted")
        conv.agent = agent
        if conv.gives_up is not None:
            conv.gives_up.cancel()
            conv.gives_up = None
        self._emit(InteractionAccepted(ref=ref, at=self.clock.now(), agent=agent))
        if conv.channel in (Channel.CHAT, Channel.SMS) and conv.turns_left > 0:
            self._customer_later(conv)  # the customer goes on typing while the agent reads

    async def decline(self, ref: str, agent: str, reason: str | None = None) -> None:
        require(self, DigitalCapability.DECLINE)
        conv = self._conversation(ref)
        if conv.agent not in (None, agent):
            raise PlatformError(f"interaction {ref} is with {conv.agent}, not {agent}",
                                code="not-yours")
        conv.agent = None
        self._cancel(conv)
        self._emit(InteractionDeclined(ref=ref, at=self.clock.now(), agent=agent, reason=reason))

    async def close(self, ref: str, agent: str, disposition: str | None = None) -> None:
        require(self, DigitalCapability.CLOSE)
        conv = self._conversation(ref)
        if conv.agent != agent:
            raise PlatformError(f"interaction {ref} is not with {agent}", code="not-yours")
        self._forget(ref)
        await self._closed_by(ref, agent, disposition)

    async def reply(self, ref: str, agent: str, body: str) -> str:
        require(self, DigitalCapability.REPLY)
        conv = self._conversation(ref)
        if conv.agent != agent:
            raise PlatformError(f"interaction {ref} is not with {agent}; accept it first",
                                code="not-yours")
        if not body.strip():
            raise PlatformError("a reply needs some text", code="empty-reply")
        message_id = f"{ref}-m{next(conv.messages)}"
        conv.transcript.append((self.clock.now(), agent, body))
        self._emit(InteractionMessage(ref=ref, at=self.clock.now(), message_id=message_id,
                                      from_customer=False, agent=agent, body=body,
                                      preview=body[:140]))
        if conv.channel in (Channel.CHAT, Channel.SMS):
            self._cancel(conv)
            self._customer_later(conv)
        return message_id

    def _as_platform_status(self, status: AgentStatus,
                            reason: str | None) -> tuple[AgentStatus, str | None]:
        if status is AgentStatus.WRAP_UP:  # no wrap-up state here: a not-ready reason
            return AgentStatus.NOT_READY, "wrap-up"
        return status, reason

    # ---------------------------------------------------------------- world

    def arrive(self, channel: Channel | None = None) -> str:
        """A customer writes in; returns the new interaction's ref."""
        channel = channel or self._rng.choices(self._mix, cum_weights=self._cum)[0]
        customer = self._book.next()
        reason = self._rng.choice(REASONS)
        number = str(self._rng.randint(10000, 99999))
        subject, text = (t.format(n=number) for t in _TEXTS[customer.language][reason])
        sender = self._sender(channel, customer)
        ref = f"{self.name}-{next(self._ids)}"
        body = text
        if channel is Channel.EMAIL:
            hello, regards = _SIGN[customer.language]
            body = f"{hello}\n\n{text}\n\n{regards}\n{customer.name}"
        lo, hi = self.chat_turns
        conv = _Conversation(ref, channel, sender, customer.language,
                             subject if channel is Channel.EMAIL else None,
                             self._rng.choice(self.queues), self._rng.randint(lo, hi))
        self._open[ref] = conv
        conv.transcript.append((self.clock.now(), customer.name, body))
        if self.patience is not None and channel in (Channel.CHAT, Channel.SMS):
            conv.gives_up = asyncio.get_running_loop().create_task(
                self._give_up(conv, self._rng.uniform(*self.patience)))
        self._emit(InteractionArrived(
            ref=ref, at=self.clock.now(), channel=channel, sender=sender,
            message_id=f"{ref}-m1", subject=conv.subject, preview=text, body=body,
            content_url=self.conversation_url(ref), thread_id=ref, queue=conv.queue,
            attached={"customer_id": customer.customer_id, "reason": reason,
                      "language": customer.language}))
        return ref

    def customer_writes(self, ref: str, body: str | None = None) -> str:
        conv = self._conversation(ref)
        text = body or self._rng.choice(_FOLLOW_UPS[conv.language])
        message_id = f"{ref}-m{next(conv.messages)}"
        conv.transcript.append((self.clock.now(), conv.sender.name or "?", text))
        self._emit(InteractionMessage(ref=ref, at=self.clock.now(), message_id=message_id,
                                      sender=conv.sender, body=text, preview=text))
        return message_id

    def conversation_url(self, ref: str) -> str:
        """Where the hub shows this simulated conversation (relative to the hub)."""
        return f"/digital/{self.name}/conversations/{ref}"

    def transcript(self, ref: str) -> tuple[_Conversation, list[tuple[datetime, str, str]]]:
        """An open conversation and its messages, for the simulated platform's page."""
        conv = self._conversation(ref)
        return conv, list(conv.transcript)

    def customer_closes(self, ref: str) -> None:
        self._conversation(ref)
        self._forget(ref)
        self._emit(InteractionClosed(ref=ref, at=self.clock.now(), by="customer"))

    def open_interactions(self) -> tuple[InteractionSnapshot, ...]:
        return tuple(InteractionSnapshot(c.ref, c.channel, c.sender, c.agent, c.queue, c.subject)
                     for c in self._open.values())

    # ------------------------------------------------------------ internals

    def _sender(self, channel: Channel, customer: Customer) -> Sender:
        if channel is Channel.EMAIL:
            domain = self._rng.choice(_DOMAINS[customer.region])
            return Sender(address=f"{_slug(customer.name)}@{domain}", name=customer.name)
        if channel is Channel.SOCIAL:
            return Sender(handle="@" + _slug(customer.name).replace(".", "_"),
                          name=customer.name)
        return Sender(number=customer.number, name=customer.name)

    async def _arrive_forever(self) -> None:
        rate = self.per_minute / 60.0
        start, due = self.clock.now(), 0.0
        while True:
            due += self._rng.expovariate(rate)
            # An absolute schedule, so the rate holds even when we run late.
            await self.clock.sleep(due - (self.clock.now() - start).total_seconds())
            if self.scale is None or self._rng.random() < self.scale():
                self.arrive()

    async def _give_up(self, conv: _Conversation, delay: float) -> None:
        await self.clock.sleep(delay)
        conv.gives_up = None
        if conv.ref in self._open and conv.agent is None:
            self.customer_closes(conv.ref)

    def _customer_later(self, conv: _Conversation) -> None:
        delay = self._rng.uniform(*self.reply_delay)
        conv.timer = asyncio.get_running_loop().create_task(self._customer_turn(conv, delay))

    async def _customer_turn(self, conv: _Conversation, delay: float) -> None:
        await self.clock.sleep(delay)
        conv.timer = None
        if conv.ref not in self._open:
            return
        if conv.turns_left > 0:
            conv.turns_left -= 1
            self.customer_writes(conv.ref)
        elif conv.channel is Channel.CHAT:
            self.customer_writes(conv.ref, _GOODBYE[conv.language])
            self.customer_closes(conv.ref)

    def _conversation(self, ref: str) -> _Conversation:
        conv = self._open.get(ref)
        if conv is None:
            raise PlatformError(f"no open interaction {ref} on {self.name}",
                                code="unknown-interaction")
        return conv

    def _cancel(self, conv: _Conversation) -> None:
        if conv.timer is not None:
            conv.timer.cancel()
            conv.timer = None

    def _forget(self, ref: str) -> None:
        conv = self._open.pop(ref, None)
        if conv is not None:
            self._cancel(conv)
            if conv.gives_up is not None and conv.gives_up is not asyncio.current_task():
                conv.gives_up.cancel()


# ----------------------------------------------------------------- options

def _number(v: Any, *, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or v < 0 or (positive and v == 0):
        raise ValueError("must be a positive number" if positive else
                         "must be a number, not negative")
    return float(v)


def _pair(v: Any, conv: Callable[[Any], Any]) -> tuple[Any, Any]:
    if not isinstance(v, list | tuple) or len(v) != 2:
        raise ValueError("must be [min, max]")
    lo, hi = conv(v[0]), conv(v[1])
    if lo > hi:
        raise ValueError("min must not exceed max")
    return lo, hi


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError("must be a whole number, not negative")
    return v


def _mix(v: Any) -> dict[Channel, float]:
    known = {str(c) for c in DIGITAL_CHANNELS}
    if not isinstance(v, dict) or not v:
        raise ValueError(f"must map channels ({', '.join(sorted(known))}) to weights")
    unknown = [k for k in v if k not in known]
    if unknown:
        raise ValueError(f"unknown channel(s) {', '.join(map(str, unknown))}; "
                         f"known: {', '.join(sorted(known))}")
    weights = {Channel(k): _number(w) for k, w in v.items()}
    if sum(weights.values()) <= 0:
        raise ValueError("weights must have a positive total")
    return weights


def _names(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
        raise ValueError("must be a non-empty list of names")
    return tuple(v)


def _caps(v: Any) -> frozenset[DigitalCapability]:
    known = {c.value for c in DigitalCapability}
    if not isinstance(v, list) or any(x not in known for x in v):
        raise ValueError(f"must be a list among {', '.join(sorted(known))}")
    return frozenset(DigitalCapability(x) for x in v)


_OPTIONS: dict[str, Callable[[Any], Any]] = {
    "seed": lambda v: _int(v),
    "per_minute": _number,
    "mix": _mix,
    "queues": _names,
    "reply_delay": lambda v: _pair(v, _number),
    "chat_turns": lambda v: _pair(v, _int),
    "capabilities": _caps,
    "patience": lambda v: _pair(v, lambda x: _number(x, positive=True)),
}


def _parse_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    kwargs, problems = check_each(options, _OPTIONS, containers=(dict, list))
    if problems:
        raise options_error("digital", name, "simulator", problems)
    return kwargs

