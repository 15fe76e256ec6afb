"""What the writer decides for contract commands, and which contract a new ticket binds to.

A bounded cache holds the state of recently used contracts (their running
totals included, so checking an entry never replays the contract), and one of
each customer's contracts, so that binding a ticket by customer costs a few
dictionary look-ups. The writer drops what a failed group touched; it is
reloaded from the store.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any, NamedTuple

from domain.allowance_spec import Allowance, parse_allowance
from domain.allowances import check_work
from domain.contract import ContractState, NewContractEvent, check_order, check_retry
from domain.contract_events import (
    CONTRACT_CLASS_OF_TYPE,
    ContractEvent,
    ContractEventType,
    CustomerContractListed,
    contract_uuid,
    customer_uuid,
    directory_uuid,
)
from domain.credits import check_claim
from domain.errors import FieldError, NotFound, ValidationFailed
from domain.policy import Policy
from domain.versions import Version
from service.catalog import Catalog
from service.storage.eventstore import EventStore

T = ContractEventType
PolicyAt = Callable[[str, datetime], Version[Policy]]


class ContractReceipt(NamedTuple):
    contract_id: str
    event_id: str
    version: int
    position: int
    recorded_at: datetime
    created: bool


class Binding(NamedTuple):
    """What an ``opened`` event resolved to: its plan, and its contract if bound to one."""

    plan: str
    contract: str | None
    calendar: str | None
    customer: str | None = None


class ContractRules:
    def __init__(
        self, store: EventStore, catalog: Catalog, policy_at: PolicyAt, max_states: int = 20_000
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._policy_at = policy_at
        self._states: OrderedDict[str, ContractState] = OrderedDict()
        self._customers: OrderedDict[str, list[str]] = OrderedDict()
        self._max_states = max_states
        self._directory_size: int | None = None

    # --- state ---------------------------------------------------------------

    def state(self, contract_id: str) -> ContractState:
        state = self._states.get(contract_id)
        if state is not None:
            self._states.move_to_end(contract_id)
            return state
        events = [r.event for r in self._store.aggregate_events(contract_uuid(contract_id))]
        state = ContractState.replay(contract_id, _contract_events(events))
        self._remember(state)
        return state

    def contracts_of(self, customer: str) -> list[str]:
        listed = self._customers.get(customer)
        if listed is None:
            listed = [
                r.event.contract_id
                for r in self._store.aggregate_events(customer_uuid(customer))
                if isinstance(r.event, CustomerContractListed)
            ]
            self._remember_customer(customer, listed)
        else:
            self._customers.move_to_end(customer)
        return listed

    def prefetch_customers(self, customers: Iterable[str]) -> None:
        """Load, in a few reads, the contracts of customers the cache does not hold."""
        missing = sorted({c for c in customers if c not in self._customers})
        if not missing:
            return
        loaded = self._store.events_of_many([customer_uuid(c) for c in missing])
        contracts: list[str] = []
        for customer in missing:
            listed = [
                r.event.contract_id
                for r in loaded[customer_uuid(customer)]
                if isinstance(r.event, CustomerContractListed)
            ]
            self._remember_customer(customer, listed)
            contracts.extend(c for c in listed if c not in self._states)
        if contracts:
            found = self._store.events_of_many([contract_uuid(c) for c in contracts])
            for contract_id in contracts:
                events = [r.event for r in found[contract_uuid(contract_id)]]
                self._remember(ContractState.replay(contract_id, _contract_events(events)))

    def _remember(self, state: ContractState) -> None:
        self._states[state.contract_id] = state
        if len(self._states) > self._max_states:
            self._states.popitem(last=False)

    def _remember_customer(self, customer: str, listed: list[str]) -> None:
        self._customers[customer] = listed
        if len(self._customers) > self._max_states:
            self._customers.popitem(last=False)

    def forget(self, contract_ids: set[str], customers: set[str]) -> None:
        for contract_id in contract_ids:
            self._states.pop(contract_id, None)
        for customer in customers:
            self._customers.pop(customer, None)
        if customers:
            self._directory_size = None

    def receipt_of(self, contract_id: str, event_id: str, version: int) -> ContractReceipt:
        for recorded in self._store.aggregate_events(contract_uuid(contract_id)):
            if recorded.event.originator_version == version:
                event = recorded.event
                return ContractReceipt(
                    contract_id, event_id, version, recorded.position, event.timestamp, False
                )
        raise NotFound(f"event {event_id!r} of contract {contract_id!r} is not recorded")

    # --- deciding a command --------------------------------------------------

    def decide(
        self, command: NewContractEvent, recorded_at: datetime
    ) -> tuple[ContractEvent, ...] | int:
        """The events to store (the start brings the customer index's), or a retry's version."""
        state = self.state(command.contract_id)
        retry = check_retry(state, command)
        if retry is not None:
            return retry.version
        check_order(state, command)
        data = dict(command.data)
        if command.type is T.STARTED:
            data["granted"] = self._granted(data, command.occurred_at, [])
        elif command.type is T.AMENDED:
            data["granted"] = self._amended(state, data, command.occurred_at)
        elif command.type is T.WORK_LOGGED:
            check_work(state, command)
        elif command.type is T.CREDIT_CLAIMED:
            data = self._claim(state, data, command.occurred_at)
        event = _event(command, state.version + 1, recorded_at, data)
        extra = (
            self._listed(data, command.contract_id, recorded_at)
            if command.type is T.STARTED
            else ()
        )
        state.apply(event)
        return (event, *extra)

    def _listed(
        self, data: dict[str, Any], contract_id: str, recorded_at: datetime
    ) -> tuple[CustomerContractListed, CustomerContractListed]:
        """The contract's entries in its customer's index and in the directory of all."""
        customer = str(data["customer"])
        listed = self.contracts_of(customer)
        if self._directory_size is None:
            self._directory_size = len(self._store.aggregate_events(directory_uuid()))
        entries = tuple(
            CustomerContractListed(
                originator_id=originator_id,
                originator_version=version,
                timestamp=recorded_at,
                customer=customer,
                contract_id=contract_id,
            )
            for originator_id, version in (
                (customer_uuid(customer), len(listed) + 1),
                (directory_uuid(), self._directory_size + 1),
            )
        )
        listed.append(contract_id)
        self._directory_size += 1
        return entries[0], entries[1]

    def _claim(self, state: ContractState, data: dict[str, Any], at: datetime) -> dict[str, Any]:
        """A claim names a service and a started month of the plan's uptime terms (422 else)."""
        policy = self._policy_at(state.plan_change_at(at).plan, at).value
        return check_claim(data, policy.uptime, at)

    def _amended(
        self, state: ContractState, data: dict[str, Any], at: datetime
    ) -> list[dict[str, Any]]:
        current = state.plan_change_at(at)
        resolved = {"plan": current.plan, "allowances": state.own_allowances}
        resolved.update({k: v for k, v in data.items() if k in ("plan", "allowances", "calendar")})
        return self._granted(resolved, at, [])

    def _granted(self, data: dict[str, Any], at: datetime, errors: list[FieldError]) -> list[Any]:
        """The plan's allowances plus the contract's own, templates resolved; 422 on unknowns."""
        policy = self._policy_at(str(data["plan"]), at).value
        calendar = data.get("calendar")
        if calendar is not None and not self._catalog.calendar_exists(str(calendar)):
            errors.append(FieldError("data.calendar", f"calendar {calendar!r} does not exist"))
        granted: dict[str, Allowance] = {a.id: a for a in policy.allowances}
        for index, item in enumerate(data.get("allowances", [])):
            allowance = _own(item, policy, f"data.allowances[{index}]", errors)
            if allowance is not None and allowance.id in granted:
                errors.append(
                    FieldError(
                        f"data.allowances[{index}].id", f"the plan already grants {allowance.id!r}"
                    )
                )
            elif allowance is not None:
                granted[allowance.id] = allowance
        if errors:
            raise ValidationFailed(errors)
        return [a.document() for a in granted.values()]

    # --- binding a ticket ------------------------------------------------------

    def bind(self, data: dict[str, Any], at: datetime) -> Binding:
        """The plan and contract of an ``opened`` event naming a plan, a contract or a customer.

        Before refusing, the customer's index and contracts are read again: another
        process sharing the database may have started or changed one since.
        """
        try:
            return self._bind(data, at)
        except ValidationFailed:
            customer, contract = data.get("customer"), data.get("contract")
            contracts = {str(contract)} if contract is not None else set()
            if customer is not None:
                contracts.update(self._customers.get(str(customer), []))
            self.forget(contracts, {str(customer)} if customer is not None else set())
            return self._bind(data, at)

    def _bind(self, data: dict[str, Any], at: datetime) -> Binding:
        plan, contract, customer = data.get("plan"), data.get("contract"), data.get("customer")
        if contract is not None:
            return self._by_contract(str(contract), plan, customer, at)
        if customer is None:
            return Binding(str(plan), None, None)
        listed = self.contracts_of(str(customer))
        if len(listed) == 1 and plan is None:
            # The common case, on the ingest hot path: one contract, never amended.
            only = self.state(listed[0])
            if len(only.changes) == 1 and only.in_effect_at(at):
                first = only.changes[0]
                return Binding(first.plan, only.contract_id, first.calendar, only.customer)
        live = [s for s in map(self.state, listed) if s.in_effect_at(at)]
        if plan is not None:
            live = [s for s in live if s.plan_change_at(at).plan == plan]
            if len(live) != 1:
                return Binding(str(plan), None, None)
        return _one_of(str(customer), live, at)

    def _by_contract(self, contract: str, plan: object, customer: object, at: datetime) -> Binding:
        state = self.state(contract)
        if not state.in_effect_at(at):
            raise ValidationFailed.single(
                "data.contract", f"contract {contract!r} is not in effect at occurred_at"
            )
        binding = _binding(state, at)
        if plan is not None and plan != binding.plan:
            raise ValidationFailed.single(
                "data.plan", f"contract {contract!r} is on plan {binding.plan!r}, not {plan!r}"
            )
        if customer is not None and customer != state.customer:
            raise ValidationFailed.single(
                "data.customer", f"contract {contract!r} is with customer {state.customer!r}"
            )
        return binding


def _contract_events(events: Iterable[object]) -> list[ContractEvent]:
    return [e for e in events if isinstance(e, ContractEvent)]


def _one_of(customer: str, live: list[ContractState], at: datetime) -> Binding:
    if not live:
        raise ValidationFailed.single(
            "data.customer", f"customer {customer!r} has no contract in effect at occurred_at"
        )
    if len(live) > 1:
        names = ", ".join(sorted(s.contract_id for s in live))
        raise ValidationFailed.single(
            "data.contract",
            f"customer {customer!r} has several contracts in effect ({names}); name one",
        )
    return _binding(live[0], at)


def _binding(state: ContractState, at: datetime) -> Binding:
    change = state.plan_change_at(at)
    return Binding(change.plan, state.contract_id, change.calendar, state.customer)


def _own(
    item: dict[str, Any], policy: Policy, path: str, errors: list[FieldError]
) -> Allowance | None:
    if "template" not in item:
        return parse_allowance(item, path, errors)
    template = policy.allowance_templates.get(str(item["template"]))
    if template is None:
        offered = ", ".join(sorted(policy.allowance_templates)) or "none"
        errors.append(
            FieldError(
                f"{path}.template",
                f"{item['template']!r} is not offered by the plan (offered: {offered})",
            )
        )
        return None
    return replace(template, id=str(item["id"]))


def _event(
    command: NewContractEvent, version: int, recorded_at: datetime, data: dict[str, Any]
) -> ContractEvent:
    cls = CONTRACT_CLASS_OF_TYPE[command.type]
    return cls(
        originator_id=contract_uuid(command.contract_id),
        originator_version=version,
        timestamp=recorded_at,
        contract_id=command.contract_id,
        event_id=command.event_id,
        occurred_at=command.occurred_at,
        data=data,
        fingerprint=command.fingerprint,
    )
