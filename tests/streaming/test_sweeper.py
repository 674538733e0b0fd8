"""The sweeper finds what dead workers left, whether or not anyone looks."""

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from playground.billing.models import BudgetMonth, Reservation, UsageRecord
from playground.chats.models import Message
from playground.documents.models import Document
from playground.streaming import dispatch, runner, sweeper
from tests.billing.test_budgets import cap
from tests.chats.helpers import reply

pytestmark = pytest.mark.django_db(transaction=True)


def _left_streaming(owner, simulator) -> Message:
    """An answer whose worker died: still streaming, its last heartbeat long ago, its
    reservation held."""
    cap(owner, "5.00")
    _, _, answer = reply(owner, simulator, "#think:5 #answer:5 hi")
    runner.wait_idle()
    Message.objects.filter(pk=answer.pk).update(
        status=Message.Status.STREAMING, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    held = Reservation.objects.get(message_id=answer.pk)
    Reservation.objects.filter(pk=held.pk).update(settled_at=None)
    BudgetMonth.objects.update(spent_micros=0, reserved_micros=held.amount_micros)
    UsageRecord.objects.all().delete()
    return answer


def test_one_sweep_ends_a_dead_answer_and_releases_its_hold(owner, simulator):
    answer = _left_streaming(owner, simulator)
    sweeper.sweep()
    answer.refresh_from_db()
    assert answer.status == Message.Status.FAILED and answer.error_kind == "interrupted"
    assert Reservation.objects.get(message_id=answer.pk).settled_at is not None
    month = BudgetMonth.objects.get()
    assert month.reserved_micros == 0
    assert month.spent_micros == UsageRecord.objects.get(message=answer).cost_micros > 0


def test_the_embedded_timer_sweeps_without_a_viewer(owner, simulator, settings):
    settings.PLAYGROUND = {**settings.PLAYGROUND, "SWEEP_SECONDS": 0.05}
    answer = _left_streaming(owner, simulator)
    # Nothing at start-up of this "server" is left to recover but this answer: keep the
    # after-restart pass from ending it, so that the periodic pass is what is tested.
    Message.objects.filter(pk=answer.pk).update(status=Message.Status.COMPLETE)

    async def serve_briefly() -> None:
        task = asyncio.get_running_loop().create_task(sweeper.run_periodically())
        await asyncio.sleep(0.2)  # the start-up pass ran: now the worker "dies"
        await asyncio.to_thread(
            Message.objects.filter(pk=answer.pk).update, status=Message.Status.STREAMING
        )
        await asyncio.sleep(0.5)
        task.cancel()

    asyncio.run(serve_briefly())
    answer.refresh_from_db()
    assert answer.status == Message.Status.FAILED


def test_a_stalled_reading_is_queued_again(owner, owner_client, simulator):
    from tests.chats.helpers import new_chat
    from tests.documents.test_documents import read

    chat = new_chat(owner, simulator)
    document = read(owner_client, chat, "again.txt", b"read me twice\n")
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.EXTRACTING, updated_at=timezone.now() - timedelta(hours=1)
    )
    sweeper.sweep()
    runner.wait_idle()
    document.refresh_from_db()
    assert document.status == Document.Status.READY


def test_jobs_are_registered_by_name_and_an_unknown_one_is_refused():
    assert dispatch._registered("chats.generate").__name__ == "run_generation"
    assert dispatch._registered("documents.extract").__name__ == "process"
    with pytest.raises(LookupError, match="No job named"):
        dispatch.dispatch("nothing.here", 1)


def test_viewers_are_told_when_the_sweeper_ends_an_answer(owner, simulator, monkeypatch):
    from playground.streaming import publisher

    ended = []

    async def end_stream(stream_id, message_id, final):
        ended.append((stream_id, message_id, final))

    answer = _left_streaming(owner, simulator)
    monkeypatch.setattr(publisher, "end_stream", end_stream)
    sweeper.sweep()
    [(chat_id, message_id, final)] = ended
    assert (chat_id, message_id) == (answer.chat_id, answer.pk)
    assert final["type"] == "final" and final["status"] == "failed"
    assert "stopped unexpectedly" in final["html"]
