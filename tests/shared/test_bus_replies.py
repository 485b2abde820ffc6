"""Replies bigger than one NATS message: split by the responder, joined by the asker."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.bus.replies import MalformedReply, ReplyAssembler, ReplyTooLarge, reply_parts
from shared.contracts.channels import MAX_REPLY_PARTS

MAX_PAYLOAD = 8192  # a small server limit keeps the examples small; parts hold 4 KiB of it


@given(body=st.binary(max_size=60_000), seed=st.integers(0, 2**32))
def test_any_reply_is_joined_back_whole_whatever_order_its_parts_arrive_in(body, seed):
    parts = reply_parts(body, MAX_PAYLOAD)
    assert all(len(data) <= MAX_PAYLOAD - 4096 for data, _ in parts) or len(parts) == 1
    random.Random(seed).shuffle(parts)
    assembler = ReplyAssembler()
    results = [assembler.add(data, headers) for data, headers in parts]
    assert results[-1] == body and all(r is None for r in results[:-1])


def test_a_reply_that_fits_is_one_plain_message():
    assert reply_parts(b'{"ok":true}', MAX_PAYLOAD) == [(b'{"ok":true}', None)]


def test_a_reply_past_the_allowed_parts_is_refused_not_sent_cut():
    with pytest.raises(ReplyTooLarge, match=f"at most {MAX_REPLY_PARTS}"):
        reply_parts(b"x" * (4096 * MAX_REPLY_PARTS + 1), MAX_PAYLOAD)


@pytest.mark.parametrize("headers", [
    {"Trueup-Reply-Part": "x", "Trueup-Reply-Parts": "2"},
    {"Trueup-Reply-Part": "2", "Trueup-Reply-Parts": "2"},
    {"Trueup-Reply-Part": "0", "Trueup-Reply-Parts": str(MAX_REPLY_PARTS + 1)},
])
def test_unreadable_part_headers_are_an_error_not_a_wrong_reply(headers):
    with pytest.raises(MalformedReply):
        ReplyAssembler().add(b"{}", headers)


def test_parts_of_two_different_sizes_of_reply_do_not_mix():
    assembler = ReplyAssembler()
    assembler.add(b"a", {"Trueup-Reply-Part": "0", "Trueup-Reply-Parts": "3"})
    with pytest.raises(MalformedReply):
        assembler.add(b"b", {"Trueup-Reply-Part": "1", "Trueup-Reply-Parts": "2"})
