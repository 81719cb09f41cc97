"""CMPP PDUs written by hand from the specification's field tables (2.0 of April 2002 and 3.0).

Each field on its own line with its name and size; nothing here comes from our encoder.
The two MD5 authenticators were computed with the shell, e.g.
`printf '901234\\0\\0\\0\\0\\0\\0\\0\\0\\0secret1009153045' | md5sum`.

Throughout: SP code (Source_Addr) "901234", secret "secret", timestamp 10-09 15:30:45,
service "MFBANK", SP number "1069012345", the customer 13812345678.
"""


def hx(*fields: str) -> bytes:
    return bytes.fromhex("".join(fields).replace(" ", ""))


NUL = "00"

# MD5("901234" + 9 × 0x00 + "secret" + "1009153045")
AUTHENTICATOR_SOURCE = "a4a6c6e8e5f84be06750c11197bd12ba"
# MD5(Status 00000000 + AuthenticatorSource + "secret"): 3.0 carries Status in 4 octets
AUTHENTICATOR_ISMG_V3 = "c608435a0f226ede92e6226b9edabefb"
# MD5(Status 00 + AuthenticatorSource + "secret"): 2.0 carries Status in 1 octet
AUTHENTICATOR_ISMG_V2 = "31a99e6e3b308577e26d238576435953"

# The Msg_Id 12-02 06:56:13, gateway 123456, sequence 1:
#   month 1100 · day 00010 · hour 00110 · minute 111000 · second 001101 ·
#   gateway 0000011110001001000000 · sequence 0000000000000001
#   = 1100 0001 0001 1011 1000 0011 0100 0001 1110 0010 0100 0000 0000 0000 0000 0001
MSG_ID_DECEMBER = "c11b8341e2400001"
MSG_ID_DECEMBER_DECIMAL = "13914859792683237377"  # above 2^63 − 1: the top bit is set
# 07-31 23:59:59, gateway 1, sequence 65535:
#   0111 · 11111 · 10111 · 111011 · 111011 · 0000000000000000000001 · 1111111111111111
MSG_ID_JULY = "7fdfbec00001ffff"

CONNECT_V3 = hx(
    "00000027",  # Total_Length 39
    "00000001",  # Command_Id CMPP_CONNECT
    "00000001",  # Sequence_Id 1
    "393031323334",  # Source_Addr "901234" (6)
    AUTHENTICATOR_SOURCE,  # AuthenticatorSource (16)
    "30",  # Version 3.0
    "3c267415",  # Timestamp 1009153045 (4)
)
CONNECT_V2 = hx(
    "00000027",  # Total_Length 39
    "00000001",  # Command_Id CMPP_CONNECT
    "00000001",  # Sequence_Id 1
    "393031323334",  # Source_Addr "901234"
    AUTHENTICATOR_SOURCE,  # AuthenticatorSource
    "20",  # Version 2.0
    "3c267415",  # Timestamp 1009153045
)

CONNECT_RESP_V3 = hx(
    "00000021",  # Total_Length 33
    "80000001",  # Command_Id CMPP_CONNECT_RESP
    "00000001",  # Sequence_Id 1
    "00000000",  # Status 0 correct (4 in 3.0)
    AUTHENTICATOR_ISMG_V3,  # AuthenticatorISMG (16)
    "30",  # Version 3.0
)
CONNECT_RESP_V2 = hx(
    "0000001e",  # Total_Length 30
    "80000001",  # Command_Id CMPP_CONNECT_RESP
    "00000001",  # Sequence_Id 1
    "00",  # Status 0 correct (1 in 2.0)
    AUTHENTICATOR_ISMG_V2,  # AuthenticatorISMG (16)
    "20",  # Version 2.0
)
CONNECT_RESP_V3_REFUSED = hx(
    "00000021",  # Total_Length 33
    "80000001",  # Command_Id CMPP_CONNECT_RESP
    "00000001",  # Sequence_Id 1
    "00000003",  # Status 3 authentication failed
    NUL * 16,  # AuthenticatorISMG empty when authentication fails
    "30",  # Version 3.0
)

ACTIVE_TEST = hx("0000000c", "00000008", "00000007")  # Total_Length 12 · CMPP_ACTIVE_TEST · Sequence_Id 7
ACTIVE_TEST_RESP = hx(
    "0000000d",  # Total_Length 13
    "80000008",  # Command_Id CMPP_ACTIVE_TEST_RESP
    "00000007",  # Sequence_Id 7
    "00",  # Reserved (1)
)
TERMINATE = hx("0000000c", "00000002", "00000009")  # Total_Length 12 · CMPP_TERMINATE · Sequence_Id 9
TERMINATE_RESP = hx("0000000c", "80000002", "00000009")  # CMPP_TERMINATE_RESP, no body

# Part 1 of 2 of a long message: UDH 05 00 03 2a 02 01, then "您好" in UCS2.
CONTENT = "0500032a0201" + "60a8597d"

SUBMIT_V3 = hx(
    "000000cd",  # Total_Length 205
    "00000004",  # Command_Id CMPP_SUBMIT
    "00000011",  # Sequence_Id 17
    "0000000000000000",  # Msg_Id (8), filled in by the ISMG
    "02",  # Pk_total
    "01",  # Pk_number
    "01",  # Registered_Delivery: a status report, please
    "00",  # Msg_level
    "4d4642414e4b" + NUL * 4,  # Service_Id "MFBANK" (10)
    "02",  # Fee_UserType 2: charged to the SP
    NUL * 32,  # Fee_terminal_Id (32 in 3.0)
    "00",  # Fee_terminal_type (3.0)
    "00",  # TP_pId
    "01",  # TP_udhi: Msg_Content starts with a UDH
    "08",  # Msg_Fmt 8 UCS2
    "393031323334",  # Msg_src "901234" (6)
    "3031",  # FeeType "01": free (2)
    "303030303030",  # FeeCode "000000" (6)
    NUL * 17,  # ValId_Time (17)
    NUL * 17,  # At_Time (17)
    "31303639303132333435" + NUL * 11,  # Src_Id "1069012345" (21)
    "01",  # DestUsr_tl
    "3133383132333435363738" + NUL * 21,  # Dest_terminal_Id "13812345678" (32 in 3.0)
    "00",  # Dest_terminal_type (3.0)
    "0a",  # Msg_Length 10
    CONTENT,  # Msg_Content
    NUL * 20,  # LinkID (20, 3.0)
)
SUBMIT_V2 = hx(
    "000000a9",  # Total_Length 169
    "00000004",  # Command_Id CMPP_SUBMIT
    "00000011",  # Sequence_Id 17
    "0000000000000000",  # Msg_Id (8)
    "02",  # Pk_total
    "01",  # Pk_number
    "01",  # Registered_Delivery
    "00",  # Msg_level
    "4d4642414e4b" + NUL * 4,  # Service_Id "MFBANK" (10)
    "02",  # Fee_UserType
    NUL * 21,  # Fee_terminal_Id (21 in 2.0)
    "00",  # TP_pId
    "01",  # TP_udhi
    "08",  # Msg_Fmt 8 UCS2
    "393031323334",  # Msg_src "901234"
    "3031",  # FeeType "01"
    "303030303030",  # FeeCode "000000"
    NUL * 17,  # ValId_Time
    NUL * 17,  # At_Time
    "31303639303132333435" + NUL * 11,  # Src_Id "1069012345" (21)
    "01",  # DestUsr_tl
    "3133383132333435363738" + NUL * 10,  # Dest_terminal_Id "13812345678" (21 in 2.0)
    "0a",  # Msg_Length 10
    CONTENT,  # Msg_Content
    NUL * 8,  # Reserve (8, 2.0)
)

SUBMIT_RESP_V3 = hx(
    "00000018",  # Total_Length 24
    "80000004",  # Command_Id CMPP_SUBMIT_RESP
    "00000011",  # Sequence_Id 17
    MSG_ID_DECEMBER,  # Msg_Id (8)
    "00000000",  # Result 0 (4 in 3.0)
)
SUBMIT_RESP_V3_FLOW_CONTROL = hx("00000018", "80000004", "00000012", NUL * 8, "00000008")  # Result 8
SUBMIT_RESP_V2 = hx(
    "00000015",  # Total_Length 21
    "80000004",  # Command_Id CMPP_SUBMIT_RESP
    "00000011",  # Sequence_Id 17
    MSG_ID_DECEMBER,  # Msg_Id
    "00",  # Result 0 (1 in 2.0)
)

REPORT_V3_CONTENT = (
    MSG_ID_DECEMBER  # Msg_Id of the submit (8)
    + "44454c49565244"  # Stat "DELIVRD" (7)
    + "32363132303230363536"  # Submit_time "2612020656" (10)
    + "32363132303230363537"  # Done_time "2612020657" (10)
    + "3133383132333435363738"
    + NUL * 21  # Dest_terminal_Id (32 in 3.0)
    + "0000002a"  # SMSC_sequence 42 (4)
)
DELIVER_REPORT_V3 = hx(
    "000000b4",  # Total_Length 180
    "00000005",  # Command_Id CMPP_DELIVER
    "00000021",  # Sequence_Id 33
    "c11b8341e2400002",  # Msg_Id of this DELIVER (8)
    "31303639303132333435" + NUL * 11,  # Dest_Id "1069012345" (21)
    "4d4642414e4b" + NUL * 4,  # Service_Id "MFBANK" (10)
    "00",  # TP_pid
    "00",  # TP_udhi
    "00",  # Msg_Fmt
    "3133383132333435363738" + NUL * 21,  # Src_terminal_Id (32 in 3.0)
    "00",  # Src_terminal_type (3.0)
    "01",  # Registered_Delivery 1: a status report
    "47",  # Msg_Length 71
    REPORT_V3_CONTENT,  # Msg_Content: the report
    NUL * 20,  # LinkID (3.0)
)
DELIVER_REPORT_V2 = hx(
    "00000091",  # Total_Length 145
    "00000005",  # Command_Id CMPP_DELIVER
    "00000021",  # Sequence_Id 33
    "c11b8341e2400002",  # Msg_Id of this DELIVER
    "31303639303132333435" + NUL * 11,  # Dest_Id "1069012345" (21)
    "4d4642414e4b" + NUL * 4,  # Service_Id "MFBANK"
    "00",  # TP_pid
    "00",  # TP_udhi
    "00",  # Msg_Fmt
    "3133383132333435363738" + NUL * 10,  # Src_terminal_Id (21 in 2.0)
    "01",  # Registered_Delivery 1
    "3c",  # Msg_Length 60
    MSG_ID_DECEMBER,  # report: Msg_Id
    "4d413a30303534",  # report: Stat "MA:0054"
    "32363132303230363536",  # report: Submit_time "2612020656"
    "32363132303230363537",  # report: Done_time "2612020657"
    "3133383132333435363738" + NUL * 10,  # report: Dest_terminal_Id (21 in 2.0)
    "0000002a",  # report: SMSC_sequence 42
    NUL * 8,  # Reserved (2.0)
)

# A customer's message, part 2 of 2 (UDH 05 00 03 07 02 02), "还款" in UCS2.
DELIVER_MO_V3 = hx(
    "00000077",  # Total_Length 119
    "00000005",  # Command_Id CMPP_DELIVER
    "00000022",  # Sequence_Id 34
    "c11b8341e2400003",  # Msg_Id (8)
    "313036393031323334353031" + NUL * 9,  # Dest_Id "106901234501" (21): our number + extension
    NUL * 10,  # Service_Id
    "00",  # TP_pid
    "01",  # TP_udhi
    "08",  # Msg_Fmt 8 UCS2
    "38363133383132333435363738" + NUL * 19,  # Src_terminal_Id "8613812345678" (32)
    "00",  # Src_terminal_type
    "00",  # Registered_Delivery 0: not a report
    "0a",  # Msg_Length 10
    "050003070202" + "8fd86b3e",  # Msg_Content: UDH, "还款"
    NUL * 20,  # LinkID
)
DELIVER_MO_V2_GBK = hx(
    "00000059",  # Total_Length 89
    "00000005",  # Command_Id CMPP_DELIVER
    "00000023",  # Sequence_Id 35
    "c11b8341e2400004",  # Msg_Id
    "31303639303132333435" + NUL * 11,  # Dest_Id "1069012345"
    NUL * 10,  # Service_Id
    "00",  # TP_pid
    "00",  # TP_udhi
    "0f",  # Msg_Fmt 15 GBK
    "3133383132333435363738" + NUL * 10,  # Src_terminal_Id "13812345678" (21)
    "00",  # Registered_Delivery 0
    "04",  # Msg_Length 4
    "c4e3bac3",  # Msg_Content "你好" in GBK
    NUL * 8,  # Reserved
)

DELIVER_RESP_V3 = hx(
    "00000018",  # Total_Length 24
    "80000005",  # Command_Id CMPP_DELIVER_RESP
    "00000021",  # Sequence_Id 33 (the DELIVER's)
    "c11b8341e2400002",  # Msg_Id (the DELIVER's)
    "00000000",  # Result 0 (4 in 3.0)
)
DELIVER_RESP_V2_RETRY = hx(
    "00000015",  # Total_Length 21
    "80000005",  # Command_Id CMPP_DELIVER_RESP
    "00000021",  # Sequence_Id 33
    "c11b8341e2400002",  # Msg_Id
    "08",  # Result 8 flow control (1 in 2.0): deliver it again later
)
