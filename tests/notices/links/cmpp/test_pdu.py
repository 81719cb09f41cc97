"""Every CMPP PDU, 2.0 and 3.0, against fixtures written by hand from the field tables."""

import asyncio
import contextlib
import datetime
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notices.links.base import PartSubmit
from notices.links.cmpp import pdu as p
from notices.links.cmpp.config import CmppConfig
from notices.links.cmpp.pdu import SHANGHAI, PduError, Version
from notices.links.cmpp.session import inbound_event, receipt_event, submit_pdu
from notices.links.parts import Alphabet, Part

from . import fixtures as f
from .harness import run_in_new_loop

V2, V3 = Version.V2_0, Version.V3_0
LOGIN_TIME = datetime.datetime(2026, 10, 9, 15, 30, 45, tzinfo=SHANGHAI)


def decoded(frame: bytes, version: Version):
    result = p.decode(frame, version=version)
    return result.sequence_id, result.pdu


# --- CONNECT ---------------------------------------------------------------------------


@pytest.mark.parametrize("version, fixture", [(V3, f.CONNECT_V3), (V2, f.CONNECT_V2)])
def test_connect_carries_the_authenticator_the_version_and_the_timestamp(version, fixture):
    connect = p.Connect.login(source_addr="901234", secret="secret", version=version, now=LOGIN_TIME)
    assert p.encode(connect, sequence_id=1, version=version) == fixture

    sequence, parsed = decoded(fixture, version)
    assert sequence == 1 and parsed == connect
    assert parsed.timestamp_label == "1009153045" and parsed.version == int(version)


def test_the_timestamp_is_beijing_time_whatever_the_clock_zone():
    utc = LOGIN_TIME.astimezone(datetime.UTC)
    assert p.Connect.login(source_addr="901234", secret="secret", version=V3, now=utc).timestamp == 1009153045


def test_connect_resp_v3_has_a_four_octet_status_and_the_ismg_authenticator():
    sequence, resp = decoded(f.CONNECT_RESP_V3, V3)
    assert (sequence, resp.status, resp.version, resp.status_octets) == (1, 0, 0x30, 4)
    assert resp.authenticator_ismg.hex() == f.AUTHENTICATOR_ISMG_V3
    source = bytes.fromhex(f.AUTHENTICATOR_SOURCE)
    assert p.authenticator_ismg(0, source, "secret", status_octets=4) == resp.authenticator_ismg
    assert p.encode(resp, sequence_id=1, version=V3) == f.CONNECT_RESP_V3


def test_connect_resp_v2_has_a_one_octet_status():
    sequence, resp = decoded(f.CONNECT_RESP_V2, V2)
    assert (resp.status, resp.version, resp.status_octets) == (0, 0x20, 1)
    source = bytes.fromhex(f.AUTHENTICATOR_SOURCE)
    assert p.authenticator_ismg(0, source, "secret", status_octets=1) == resp.authenticator_ismg
    assert p.encode(resp, sequence_id=1, version=V2) == f.CONNECT_RESP_V2


def test_a_refusal_names_its_status_and_an_ismg_answering_in_its_own_layout_is_understood():
    _seq, refused = decoded(f.CONNECT_RESP_V3_REFUSED, V3)
    assert refused.status == 3 and p.connect_status_text(3) == "authentication failed"
    assert refused.authenticator_ismg == bytes(16)
    # A 2.0-only ISMG answers our 3.0 CONNECT in the 2.0 layout: still read by its length.
    _seq, resp = decoded(f.CONNECT_RESP_V2, V3)
    assert resp.version == 0x20 and resp.status == 0


# --- ACTIVE_TEST, TERMINATE --------------------------------------------------------------


@pytest.mark.parametrize("version", [V2, V3])
def test_active_test_and_terminate_are_the_same_in_both_versions(version):
    for fixture, message in [
        (f.ACTIVE_TEST, p.ActiveTest()),
        (f.ACTIVE_TEST_RESP, p.ActiveTestResp()),
        (f.TERMINATE, p.Terminate()),
        (f.TERMINATE_RESP, p.TerminateResp()),
    ]:
        sequence = int.from_bytes(fixture[8:12], "big")
        assert p.encode(message, sequence_id=sequence, version=version) == fixture
        assert decoded(fixture, version) == (sequence, message)


def test_an_active_test_resp_without_its_reserved_octet_is_accepted():
    assert decoded(f.hx("0000000c", "80000008", "00000007"), V3) == (7, p.ActiveTestResp())


# --- SUBMIT ------------------------------------------------------------------------------


def _first_part() -> PartSubmit:
    part = Part(
        seq=1, total=2, text="您好", payload="您好".encode("utf-16-be"), udh=bytes.fromhex("0500032a0201")
    )
    return PartSubmit(client_ref="k1", to="+8613812345678", part=part, alphabet=Alphabet.UCS2)


def _config(version: Version) -> CmppConfig:
    return CmppConfig(
        host="127.0.0.1",
        port=7890,
        version=version,
        sp_id="901234",
        secret="secret",
        service_id="MFBANK",
        src_id="1069012345",
    )


@pytest.mark.parametrize("version, fixture", [(V3, f.SUBMIT_V3), (V2, f.SUBMIT_V2)])
def test_the_submit_we_send_for_a_part_of_a_long_message(version, fixture):
    assert p.encode(submit_pdu(_first_part(), _config(version)), sequence_id=17, version=version) == fixture


@pytest.mark.parametrize("version, fixture", [(V3, f.SUBMIT_V3), (V2, f.SUBMIT_V2)])
def test_a_submit_decodes_field_by_field(version, fixture):
    sequence, submit = decoded(fixture, version)
    assert sequence == 17
    assert submit.dest_terminal_ids == ("13812345678",)
    assert (submit.pk_total, submit.pk_number, submit.registered_delivery, submit.tp_udhi) == (2, 1, 1, 1)
    assert (submit.msg_fmt, submit.fee_user_type, submit.fee_type, submit.fee_code) == (8, 2, "01", "000000")
    assert (submit.service_id, submit.msg_src, submit.src_id) == ("MFBANK", "901234", "1069012345")
    assert submit.msg_content == bytes.fromhex(f.CONTENT)
    assert p.encode(submit, sequence_id=17, version=version) == fixture


def test_a_submit_to_several_numbers_repeats_the_destination_field():
    submit = p.Submit(dest_terminal_ids=("13812345678", "13912345678"), msg_content=b"\x00A", msg_fmt=8)
    frame = p.encode(submit, sequence_id=1, version=V2)
    assert len(frame) == 12 + 117 + 2 * 21 + 1 + 2 + 8
    assert decoded(frame, V2)[1].dest_terminal_ids == ("13812345678", "13912345678")


def test_a_value_too_wide_for_its_field_is_refused_not_truncated():
    with pytest.raises(PduError, match="Service_Id takes at most 10 octets"):
        p.encode(
            p.Submit(dest_terminal_ids=("1",), msg_content=b"", service_id="X" * 11),
            sequence_id=1,
            version=V3,
        )
    with pytest.raises(PduError, match="Msg_Length"):
        p.encode(p.Submit(dest_terminal_ids=("1",), msg_content=b"x" * 256), sequence_id=1, version=V3)
    with pytest.raises(PduError, match="ASCII"):
        p.encode(p.Submit(dest_terminal_ids=("一",), msg_content=b""), sequence_id=1, version=V3)


@pytest.mark.parametrize(
    "version, fixture, result",
    [(V3, f.SUBMIT_RESP_V3, 0), (V2, f.SUBMIT_RESP_V2, 0), (V3, f.SUBMIT_RESP_V3_FLOW_CONTROL, 8)],
)
def test_submit_resp_carries_the_msg_id_and_a_result_of_the_version_width(version, fixture, result):
    sequence, resp = decoded(fixture, version)
    assert resp.result == result
    assert p.encode(resp, sequence_id=sequence, version=version) == fixture


def test_submit_resp_in_the_other_version_layout_is_refused():
    with pytest.raises(PduError, match="truncated"):
        p.decode(f.SUBMIT_RESP_V2, version=V3)
    with pytest.raises(PduError, match="oversized"):
        p.decode(f.SUBMIT_RESP_V3, version=V2)


def test_results_are_named_as_the_version_names_them():
    assert p.submit_result_text(8, V3) == "flow control"
    assert p.submit_result_text(13, V3) == "Dest_terminal_Id error"
    assert p.submit_result_text(13, V2) == "other error"


# --- Msg_Id ------------------------------------------------------------------------------


def test_a_december_msg_id_has_its_top_bit_set_and_is_carried_as_its_decimal_string():
    _seq, resp = decoded(f.SUBMIT_RESP_V3, V3)
    assert resp.msg_id > 2**63 - 1  # would overflow a signed bigint
    assert str(resp.msg_id) == f.MSG_ID_DECEMBER_DECIMAL
    assert p.MsgId.unpack(resp.msg_id) == p.MsgId(
        month=12, day=2, hour=6, minute=56, second=13, gateway=123456, sequence=1
    )
    assert p.MsgId.unpack(resp.msg_id).time_label == "1202065613"


def test_msg_id_fields_at_their_widest():
    value = int(f.MSG_ID_JULY, 16)
    assert value < 2**63
    parts = p.MsgId.unpack(value)
    assert parts == p.MsgId(month=7, day=31, hour=23, minute=59, second=59, gateway=1, sequence=65535)
    assert parts.pack() == value
    assert p.MsgId.unpack(2**64 - 1).pack() == 2**64 - 1


def test_msg_id_out_of_range_is_refused():
    with pytest.raises(PduError):
        p.MsgId.unpack(2**64)
    with pytest.raises(PduError, match="gateway"):
        p.MsgId(month=1, day=1, hour=0, minute=0, second=0, gateway=1 << 22, sequence=0).pack()


# --- DELIVER -----------------------------------------------------------------------------


def test_a_v3_status_report_becomes_a_receipt_for_the_submits_msg_id():
    _seq, deliver = decoded(f.DELIVER_REPORT_V3, V3)
    assert deliver.is_report and deliver.dest_id == "1069012345" and deliver.service_id == "MFBANK"
    report = deliver.report()
    assert report == p.StatusReport(
        msg_id=int(f.MSG_ID_DECEMBER, 16),
        stat="DELIVRD",
        submit_time="2612020656",
        done_time="2612020657",
        dest_terminal_id="13812345678",
        smsc_sequence=42,
    )
    assert p.encode(deliver, sequence_id=0x21, version=V3) == f.DELIVER_REPORT_V3

    event = receipt_event(deliver, f.DELIVER_REPORT_V3, V3)
    assert event.provider_id == f.MSG_ID_DECEMBER_DECIMAL and event.delivered and event.final
    assert event.submitted_at == datetime.datetime(2026, 12, 2, 6, 56, tzinfo=SHANGHAI)
    assert event.done_at == datetime.datetime(2026, 12, 2, 6, 57, tzinfo=SHANGHAI)
    assert event.raw["pdu"] == f.DELIVER_REPORT_V3.hex() and event.raw["smsc_sequence"] == 42


def test_a_v2_status_report_with_a_carrier_code():
    _seq, deliver = decoded(f.DELIVER_REPORT_V2, V2)
    event = receipt_event(deliver, f.DELIVER_REPORT_V2, V2)
    assert event.stat == "MA:0054" and not event.delivered and event.final
    assert event.provider_id == f.MSG_ID_DECEMBER_DECIMAL
    assert p.encode(deliver, sequence_id=0x21, version=V2) == f.DELIVER_REPORT_V2


def test_a_report_time_that_is_not_a_time_is_left_empty_not_guessed():
    report = p.StatusReport(
        msg_id=1, stat="DELIVRD", submit_time="2613450000", done_time="26120", dest_terminal_id="1"
    )
    deliver = p.Deliver(
        msg_id=2, dest_id="1", src_terminal_id="1", msg_content=report.encode(V3), registered_delivery=1
    )
    event = receipt_event(deliver, b"", V3)
    assert event.submitted_at is None and event.done_at is None
    assert event.raw["submit_time"] == "2613450000"


def test_a_customers_long_message_part_carries_its_concatenation():
    _seq, deliver = decoded(f.DELIVER_MO_V3, V3)
    assert not deliver.is_report
    event = inbound_event(deliver, f.DELIVER_MO_V3, V3)
    assert (event.sender, event.recipient, event.text) == ("8613812345678", "106901234501", "还款")
    assert event.concatenation == (7, 2, 2)
    assert event.provider_id == str(int("c11b8341e2400003", 16))
    assert p.encode(deliver, sequence_id=0x22, version=V3) == f.DELIVER_MO_V3


def test_a_customers_gbk_message():
    _seq, deliver = decoded(f.DELIVER_MO_V2_GBK, V2)
    event = inbound_event(deliver, f.DELIVER_MO_V2_GBK, V2)
    assert (event.sender, event.text, event.concatenation) == ("13812345678", "你好", None)
    assert p.encode(deliver, sequence_id=0x23, version=V2) == f.DELIVER_MO_V2_GBK


@pytest.mark.parametrize(
    "content, msg_fmt, text",
    [(b"TD", 0, "TD"), (b"T\x00D", 0, "TD"), (b"\x80", 0, "\ufffd"), (b"\x00\x01\x02", 4, "")],
)
def test_message_text_by_format_never_holds_a_nul(content, msg_fmt, text):
    deliver = p.Deliver(msg_id=1, dest_id="1", src_terminal_id="1", msg_content=content, msg_fmt=msg_fmt)
    event = inbound_event(deliver, b"", V2)
    assert event.text == text
    assert ("not_text" in event.raw) == (msg_fmt == 4)
    assert event.raw["msg_content"] == content.hex()


@pytest.mark.parametrize(
    "version, fixture, result", [(V3, f.DELIVER_RESP_V3, 0), (V2, f.DELIVER_RESP_V2_RETRY, 8)]
)
def test_deliver_resp(version, fixture, result):
    message = p.DeliverResp(msg_id=int("c11b8341e2400002", 16), result=result)
    assert p.encode(message, sequence_id=0x21, version=version) == fixture
    assert decoded(fixture, version) == (0x21, message)


# --- what a misbehaving peer may send ------------------------------------------------------

ALL = [
    pytest.param(V3, f.CONNECT_V3, id="CONNECT_V3"),
    pytest.param(V2, f.CONNECT_V2, id="CONNECT_V2"),
    pytest.param(V3, f.CONNECT_RESP_V3, id="CONNECT_RESP_V3"),
    pytest.param(V2, f.CONNECT_RESP_V2, id="CONNECT_RESP_V2"),
    pytest.param(V3, f.ACTIVE_TEST_RESP, id="ACTIVE_TEST_RESP"),
    pytest.param(V3, f.SUBMIT_V3, id="SUBMIT_V3"),
    pytest.param(V2, f.SUBMIT_V2, id="SUBMIT_V2"),
    pytest.param(V3, f.SUBMIT_RESP_V3, id="SUBMIT_RESP_V3"),
    pytest.param(V2, f.SUBMIT_RESP_V2, id="SUBMIT_RESP_V2"),
    pytest.param(V3, f.DELIVER_REPORT_V3, id="DELIVER_REPORT_V3"),
    pytest.param(V2, f.DELIVER_REPORT_V2, id="DELIVER_REPORT_V2"),
    pytest.param(V3, f.DELIVER_MO_V3, id="DELIVER_MO_V3"),
    pytest.param(V2, f.DELIVER_MO_V2_GBK, id="DELIVER_MO_V2_GBK"),
    pytest.param(V3, f.DELIVER_RESP_V3, id="DELIVER_RESP_V3"),
    pytest.param(V2, f.DELIVER_RESP_V2_RETRY, id="DELIVER_RESP_V2_RETRY"),
]


def _with_length(frame: bytes, length: int) -> bytes:
    return length.to_bytes(4, "big") + frame[4:length] if length <= len(frame) else frame


@pytest.mark.parametrize("version, fixture", ALL)
def test_every_truncation_is_a_pdu_error(version, fixture):
    for cut in range(len(fixture)):
        with pytest.raises(PduError):
            p.decode(fixture[:cut], version=version)  # Total_Length says more than there is
        if cut < 12 or (fixture, cut) in ((f.CONNECT_RESP_V3, 30), (f.ACTIVE_TEST_RESP, 12)):
            continue  # a 3.0 CONNECT_RESP cut to 18 octets is a whole 2.0 one; Reserved may be left out
        with pytest.raises(PduError):
            p.decode(_with_length(fixture, cut), version=version)  # and it says so itself


@pytest.mark.parametrize("version, fixture", ALL)
def test_an_extra_octet_is_a_pdu_error(version, fixture):
    longer = (len(fixture) + 1).to_bytes(4, "big") + fixture[4:] + b"\x00"
    with pytest.raises(PduError, match="oversized|octets|at most"):
        p.decode(longer, version=version)


def test_lengths_inside_the_body_that_overrun_it_are_pdu_errors():
    # Msg_Length (offset 12 + 8 + 21 + 10 + 3 + 32 + 1 + 1 in a 3.0 DELIVER) claiming 255
    at = 12 + 8 + 21 + 10 + 3 + 32 + 1 + 1
    frame = bytearray(f.DELIVER_MO_V3)
    frame[at] = 0xFF
    with pytest.raises(PduError, match="truncated at Msg_Content"):
        p.decode(bytes(frame), version=V3)
    # DestUsr_tl of 0 and of 101
    at = 12 + 117 - 1
    for count in (0, 101):
        frame = bytearray(f.SUBMIT_V2)
        frame[at] = count
        with pytest.raises(PduError, match="DestUsr_tl"):
            p.decode(bytes(frame), version=V2)
    # a status report of the wrong length
    frame = bytearray(f.DELIVER_REPORT_V3)
    frame[12 + 8 + 21 + 10 + 3 + 32 + 1 + 1] = 0x46  # 70
    with pytest.raises(PduError):
        p.decode(bytes(frame), version=V3)


def test_impossible_total_lengths_are_refused_before_reading_a_body():
    for length in (0, 11):
        with pytest.raises(PduError, match="shorter than the 12-octet header"):
            p.check_total_length(length, p.Command.SUBMIT)
    with pytest.raises(PduError, match="CMPP_SUBMIT_RESP with Total_Length 25: at most 24"):
        p.check_total_length(25, p.Command.SUBMIT_RESP)
    with pytest.raises(PduError, match="at most 3618"):
        p.check_total_length(0xFFFFFFFF, p.Command.SUBMIT)

    async def read_one_header_claiming_four_gigabytes():
        reader = asyncio.StreamReader()
        reader.feed_data(f.hx("ffffffff", "00000005", "00000001"))  # and no body at all
        return await p.read_frame(reader)

    with pytest.raises(PduError, match="CMPP_DELIVER with Total_Length 4294967295"):
        run_in_new_loop(read_one_header_claiming_four_gigabytes)


def test_a_command_we_do_not_speak_is_framed_not_refused():
    frame = f.hx("00000010", "80000006", "00000005", "01020304")  # a CMPP_QUERY_RESP, shortened
    assert decoded(frame, V3) == (5, p.Unknown(0x80000006, bytes.fromhex("01020304")))


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([V2, V3]))
def test_garbage_raises_nothing_but_a_pdu_error(data, version):
    with contextlib.suppress(PduError):  # anything else fails the test
        p.decode(data, version=version)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([case.values for case in ALL]), st.data())
def test_corrupted_pdus_raise_nothing_but_a_pdu_error(case, data):
    version, fixture = case
    frame = bytearray(fixture)
    for _ in range(data.draw(st.integers(1, 6))):
        frame[data.draw(st.integers(4, len(frame) - 1))] = data.draw(st.integers(0, 255))
    with contextlib.suppress(PduError):
        result = p.decode(bytes(frame), version=version)
        if isinstance(result.pdu, p.Deliver):
            event = receipt_event if result.pdu.is_report else inbound_event
            assert "\x00" not in json.dumps(event(result.pdu, bytes(frame), version).raw)
