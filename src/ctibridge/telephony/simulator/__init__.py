"""The built-in simulated contact center: a small PBX + ACD that needs nothing external.

Toward the hub it is only a :class:`~ctibridge.telephony.base.TelephonyConnector`
(``events()`` out, commands in). Its *world* methods (``customer_calls``,
``customer_hangs_up``, ``set_outcome``, ``agent_changes_state_elsewhere``,
``link_down``/``link_up``, ``live_calls``, ``call_state``, ``device_state``)
play the customers and the network for the demo, tests and benchmarks.
Everything timed goes through the injected clock and all randomness through
seeded generators: the same seed and the same actions give the same events.

ACD rules, kept close to real platforms:

* A queued call is offered to a device that is READY, has no call, is not in
  after-call work and has not been tried for this call yet, idle longest
  first (ties: the order of ``devices``). Waiting calls are served oldest
  first; queues have no priority and every device serves every queue.
* Unanswered after ``ring_timeout``: ``CallEnded(ref, device, "no-answer")``
  and the next eligible device gets it. Once every free device has been
  tried, a new round starts (so with one agent free, it rings them again).
  An agent hanging up a ringing queue call declines it (``cause="rejected"``)
  the same way.
* After-call work (Amazon Connect ACW, Asterisk ``wrapuptime``): once a device
  has been connected on a customer call (inbound or outbound) and leaves it,
  the ACD offers it nothing until ``set_agent_state(device, READY)`` comes
  again. The hub re-sends the state after every call.
* A transferred call nobody answers goes back to its queue (the first queue
  for an outbound call). Since the consumer may have seen the call leave the
  queue, ``CallQueued`` is sent again *before* ``CallEnded(ref, target,
  "no-answer")``, so the call never looks over while the customer waits.
* ``routing="hub"`` ("ctibridge routes"): the ACD above is off. A queued
  call is parked (``CallQueued``, nothing rings) until ``deliver(ref,
  device)`` rings that device (``CallOffered``). An offer that times out or
  is declined puts the call back in the park with a new ``CallQueued``
  (before ``CallEnded(ref, device, ...)``) so the hub routes it again; an
  abandon while parked ends it as usual. ``deliver`` refuses an unknown call
  (``no-such-call``), a call not parked (``not-queued``), an unknown or
  logged-out device and a device already on a call (``device-busy``). Only
  this mode declares ``Capability.ROUTE``.
* Dialling: a number that is a device is an internal call; anything else is
  normalized with ``phonenumbers`` in ``region`` and an impossible number is
  refused at once with ``PlatformError(code="invalid-number")`` (no event).
  The dialled party answers after a seeded delay within ``answer_delay``,
  is busy (same delay) or does not answer (``CallFailed`` at ``ring_timeout``);
  ``set_outcome`` fixes it per number. Internal calls and consultations
  nobody answers end with ``CallFailed(target)`` then ``CallEnded(None)``; a
  failed external consultation likewise ends with ``CallEnded(None)``.
* ``complete_transfer`` and ``conference`` need the consulted party to have
  answered (``PlatformError(code="consult-not-answered")`` before).
* ``set_agent_state``: BUSY is refused (``code="bad-state"``), WRAP_UP is
  NOT_READY with reason ``"wrap-up"``; a change is echoed as
  ``AgentStateChanged``, a repeat is not.
* Supervision (``Capability.LISTEN`` / ``WHISPER`` / ``BARGE``): ``monitor(ref,
  target, device, mode)`` puts a supervisor's device on a call the agent at
  ``target`` is talking on (connected or held), as ChanSpy does on Asterisk:
  not a party to the call (no leg, not in snapshots) but busy for the ACD.
  ``CallMonitored`` says it, again on each change of mode; ``hangup(ref,
  device)`` ends it (``CallEnded(ref, device, "monitor-stopped")``), and so
  does the agent leaving the call (``"agent-left"``, like ChanSpy's ``E``).
  A device already on a call or monitoring another is ``device-busy``.
* While the link is down the world goes on but events are lost and commands
  raise ``PlatformError(code="platform-down")``; ``link_up`` re-announces
  with a fresh ``PlatformResynced``. In snapshots a call waiting in a queue
  has the pseudo-device ``"queue:<name>": "queued"``, as the hub models it,
  and an outside party a transfer or conference brought in appears under its
  number.
"""

from ..traffic import TrafficGenerator
from .connector import OUTCOMES, CallView, DeviceView, Outcome, SimulatorConnector
from .customers import Customer, CustomerBook, generate_customers

__all__ = [
    "OUTCOMES",
    "CallView",
    "Customer",
    "CustomerBook",
    "DeviceView",
    "Outcome",
    "SimulatorConnector",
    "TrafficGenerator",
    "generate_customers",
]
