"""The policy's actions and the contract's enum must not drift apart: projections map by number."""

from cadre.authority.policy import Action
from cadre.roster.v1 import grant_pb2


def test_policy_actions_follow_the_contracts_enum_numbers() -> None:
    numbers = [grant_pb2.Action.Value(f"ACTION_{action.value}") for action in Action]
    assert numbers == list(range(1, len(Action) + 1))
    assert len(grant_pb2.Action.keys()) == len(Action) + 1  # plus ACTION_UNSPECIFIED
