"""Sampling and thinking settings: limits per provider and model, and the request they make."""

import math

import pytest

from playground.llm.client import ProviderKind
from playground.llm.params import (
    Params,
    ParamsError,
    no_room_for_answer,
    request_fields,
    validate,
)

M40, M80 = "MiniMax-M1-40k", "MiniMax-M1-80k"


def errors_of(params: Params, kind=ProviderKind.OPENAI_COMPATIBLE, model=M40) -> dict[str, str]:
    try:
        validate(params, kind, model)
    except ParamsError as exc:
        return exc.errors
    return {}


def test_the_defaults_follow_minimax_and_are_valid_everywhere():
    params = Params()
    assert (params.temperature, params.top_p) == (1.0, 0.95)
    for kind in ProviderKind:
        assert errors_of(params, kind) == {}


@pytest.mark.parametrize(
    "kind,value,ok",
    [
        (ProviderKind.MINIMAX, 0.0, False),  # MiniMax's range is (0, 1]
        (ProviderKind.MINIMAX, 0.01, True),
        (ProviderKind.MINIMAX, 1.0, True),
        (ProviderKind.MINIMAX, 1.2, False),
        (ProviderKind.OPENROUTER, 0.0, True),
        (ProviderKind.OPENROUTER, 2.0, True),
        (ProviderKind.VLLM, 2.1, False),
        (ProviderKind.VLLM, math.nan, False),
        (ProviderKind.VLLM, math.inf, False),
    ],
)
def test_temperature_range_depends_on_the_provider(kind, value, ok):
    errors = errors_of(Params(temperature=value), kind)
    assert ("temperature" not in errors) is ok
    if not ok:
        assert "(0, 1]" in errors["temperature"] or "[0, 2]" in errors["temperature"]


def test_each_bad_value_is_named_at_its_field():
    errors = errors_of(
        Params(
            top_p=0,
            presence_penalty=3,
            frequency_penalty=-2.5,
            max_tokens=40_001,
            seed=-1,
            stop=("a", "b", "c", "d", "e"),
            thinking_budget=500,
            system_prompt="x" * 100_001,
        )
    )
    assert set(errors) == {
        "top_p",
        "presence_penalty",
        "frequency_penalty",
        "max_tokens",
        "seed",
        "stop",
        "thinking_budget",
        "system_prompt",
    }
    assert "40,000" in errors["max_tokens"]


def test_limits_follow_the_model_variant():
    assert errors_of(Params(max_tokens=80_000, thinking_budget=70_000), model=M80) == {}
    assert set(errors_of(Params(max_tokens=80_000, thinking_budget=70_000), model=M40)) == {
        "max_tokens",
        "thinking_budget",
    }


def test_a_budget_above_max_tokens_is_refused_and_a_tight_one_is_flagged():
    assert (
        "above max output tokens"
        in errors_of(Params(max_tokens=2_000, thinking_budget=3_000))["thinking_budget"]
    )
    assert no_room_for_answer(Params(max_tokens=4_000, thinking_budget=4_000), M40)
    assert not no_room_for_answer(Params(max_tokens=8_000, thinking_budget=4_000), M40)
    assert not no_room_for_answer(Params(), M40)


def test_empty_or_long_stop_sequences_are_refused():
    assert "stop" in errors_of(Params(stop=("",)))
    assert "stop" in errors_of(Params(stop=("x" * 201,)))
    assert errors_of(Params(stop=("\n\n", "END"))) == {}


def test_request_fields_per_provider():
    params = Params(
        temperature=0.7, max_tokens=9_000, seed=42, stop=("END",), thinking_budget=4_000
    )
    base = {"temperature": 0.7, "top_p": 0.95, "max_tokens": 9_000, "seed": 42, "stop": ["END"]}
    assert request_fields(params, ProviderKind.MINIMAX, M40) == base
    assert request_fields(params, ProviderKind.OPENROUTER, M40) == {
        **base,
        "extra_body": {"reasoning": {"max_tokens": 4_000}},
    }
    assert request_fields(params, ProviderKind.VLLM, M40) == {
        **base,
        "extra_body": {"thinking_token_budget": 4_000},
    }


def test_unset_values_are_left_out_and_max_tokens_defaults_to_the_model_limit():
    assert request_fields(Params(), ProviderKind.SIMULATOR, M80) == {
        "temperature": 1.0,
        "top_p": 0.95,
        "max_tokens": 80_000,
    }


def test_stored_settings_round_trip_and_ignore_unknown_keys():
    params = Params(system_prompt="Be brief.", seed=7, stop=("a",), thinking_budget=2_000)
    assert Params.from_dict(params.as_dict()) == params
    assert Params.from_dict({**params.as_dict(), "from_the_future": 1}) == params
    assert Params.from_dict(None) == Params()
