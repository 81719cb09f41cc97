"""How notices address a customer: compound surnames, the sex from valid ID numbers only,
dotted and Latin names whole, the staff's 称呼, and polite fallbacks."""

import io

import pytest

from customers.models import Customer
from customers.salutations import (
    COMPOUND_SURNAMES,
    POLITE_FALLBACK,
    id_check_digit,
    id_number_sex,
    salutation_for,
)


def id18(sex: str, birth: str = "19850317", region: str = "330102") -> str:
    """A valid 18-digit ID number: the sex digit odd for men, the right check digit."""
    body = f"{region}{birth}02{1 if sex == 'M' else 2}"
    return body + id_check_digit(body)


def id15(sex: str, birth: str = "850317", region: str = "330102") -> str:
    return f"{region}{birth}02{1 if sex == 'M' else 2}"


def wrong_check(idn: str) -> str:
    good = idn[-1]
    return idn[:-1] + next(c for c in "0123456789X" if c != good)


def test_check_digit_follows_iso_7064_mod_11_2():
    # The worked example of GB 11643-1999.
    assert id_check_digit("11010519491231002") == "X"
    assert id_check_digit("44052418800101001") == "4"


@pytest.mark.parametrize(
    ("name", "expected_man", "expected_woman"),
    [
        ("欧阳明", "欧阳先生", "欧阳女士"),
        ("诸葛慧", "诸葛先生", "诸葛女士"),
        ("上官婉儿", "上官先生", "上官女士"),
        ("司马相如", "司马先生", "司马女士"),
        ("东方朔", "东方先生", "东方女士"),
        ("皇甫谧", "皇甫先生", "皇甫女士"),
        ("尉迟恭", "尉迟先生", "尉迟女士"),
        ("慕容复", "慕容先生", "慕容女士"),
        ("令狐冲", "令狐先生", "令狐女士"),
        ("万俟卨", "万俟先生", "万俟女士"),
        ("单于宁", "单于先生", "单于女士"),
        ("歐陽明", "歐陽先生", "歐陽女士"),
        ("林峰", "林先生", "林女士"),
        ("王伟", "王先生", "王女士"),
        ("张 伟", "张先生", "张女士"),
    ],
)
def test_surname_and_title_with_compound_surnames_whole(name, expected_man, expected_woman):
    assert salutation_for(name=name, id_number=id18("M")) == expected_man
    assert salutation_for(name=name, id_number=id18("F")) == expected_woman
    assert salutation_for(name=name, id_number=id15("M")) == expected_man
    assert salutation_for(name=name, id_number=id15("F")) == expected_woman


def test_the_list_holds_the_issue_s_compound_surnames():
    listed = (
        "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 独孤 南宫 西门 "
        "百里 呼延 澹台 公冶 太史 申屠 闻人 万俟 钟离 濮阳 淳于 单于"
    )
    for surname in listed.split():
        assert surname in COMPOUND_SURNAMES, surname


def test_a_two_character_name_that_looks_compound_is_not_cut():
    # 欧阳 alone may be 欧 + 阳: the surname cannot be told, so nothing is guessed.
    assert salutation_for(name="欧阳", id_number=id18("M")) == "欧先生"
    assert salutation_for(name="欧阳", id_number="") == "欧阳"


@pytest.mark.parametrize("bad", ["wrong check digit", "x lower case ok", "bad birth date", "letters"])
def test_the_sex_is_read_only_from_a_valid_id_number(bad):
    good = "11010519491231002X"
    assert id_number_sex(good) == "女士"  # 17th digit 2: a woman
    if bad == "wrong check digit":
        assert id_number_sex(wrong_check(id18("M"))) is None
        assert salutation_for(name="欧阳明", id_number=wrong_check(id18("M"))) == "欧阳明"
    elif bad == "x lower case ok":
        assert id_number_sex(good.lower()) == "女士"
    elif bad == "bad birth date":
        body = "33010219851317021"  # month 13
        assert id_number_sex(body + id_check_digit(body)) is None
        assert id_number_sex("330102851317021") is None
    else:
        assert id_number_sex("33010219850317021A") is None
        assert id_number_sex("33010285031702A") is None


def test_fifteen_digit_ids_read_the_fifteenth_digit():
    assert id_number_sex("330102850317021") == "先生"
    assert id_number_sex("330102850317022") == "女士"
    assert id_number_sex("3301028503170") is None  # 13 digits: neither form


@pytest.mark.parametrize(
    "name",
    ["买买提·艾力", "阿依古丽•吐尔逊", "古丽・努尔", "John Smith", "Mary-Jane O'Neil", "LI Wei"],
)
def test_dotted_and_latin_names_are_said_whole(name):
    expected = name.replace("•", "·").replace("・", "·")
    assert salutation_for(name=name, id_number=id18("M")) == expected


@pytest.mark.parametrize(
    ("name", "id_number", "expected"),
    [
        ("", "", POLITE_FALLBACK),
        ("   ", "", POLITE_FALLBACK),
        ("王", "", POLITE_FALLBACK),
        ("王", id18("M"), "王先生"),
        ("A", id18("M"), POLITE_FALLBACK),
        ("杭州西湖区某某科技有限公司", id18("M"), POLITE_FALLBACK),
        ("阿卜杜热合曼·买买提明江", "", POLITE_FALLBACK),
        ("Christopher Alexander Smith", "", POLITE_FALLBACK),
        ("张三(个体)", id18("M"), POLITE_FALLBACK),
        ("测试123", "", POLITE_FALLBACK),
        ("爱新觉罗溥仪", id18("M"), "爱新觉罗溥仪"),
    ],
)
def test_empty_one_character_and_long_names_get_a_polite_salutation(name, id_number, expected):
    assert salutation_for(name=name, id_number=id_number) == expected


def test_the_override_wins():
    assert salutation_for(name="欧阳明", id_number=id18("M"), override="欧阳老师") == "欧阳老师"
    assert Customer(name="欧阳明", id_number=id18("F"), salutation="  ").honorific_name == "欧阳女士"


@pytest.mark.django_db
def test_staff_set_the_salutation_on_the_customer_page_and_it_is_audited(staff_client):
    from core.models import AuditEvent
    from tests.factories import CustomerFactory

    customer = CustomerFactory(name="上官婉儿", id_number=id18("F"))
    url = f"/admin/customers/customer/{customer.pk}/change/"
    page = staff_client.get(url).content.decode()
    assert "上官女士" in page
    data = {"salutation": "婉儿女士", "loans-TOTAL_FORMS": "0", "loans-INITIAL_FORMS": "0"}
    assert staff_client.post(url, data).status_code == 302
    customer.refresh_from_db()
    assert customer.salutation == "婉儿女士" and customer.honorific_name == "婉儿女士"
    assert AuditEvent.objects.filter(action="customer.salutation", to_state="婉儿女士").exists()
    data["salutation"] = "{hotline}"
    response = staff_client.post(url, data)
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.salutation == "婉儿女士"


@pytest.mark.django_db
def test_an_import_never_overwrites_the_salutation(django_capture_on_commit_callbacks):
    from customers.services.loan_import import loan_book_import
    from tests.customers import xlsx
    from tests.factories import CustomerFactory, LoanFactory

    customer = CustomerFactory(name="欧阳明", id_number=id18("M"), salutation="欧阳老师")
    loan = LoanFactory(customer=customer, days=5)
    row = {
        "customer_no": customer.customer_no,
        "customer_name": "欧阳明华",  # the core system corrected the name
        "id_number": id18("M", birth="19860101"),
        "mobile": customer.mobile[3:],
        "loan_account": loan.loan_account,
        "overdue_amount": 999.0,
        "overdue_since": loan.overdue_since,
    }
    with django_capture_on_commit_callbacks(execute=True):
        loan_book_import(path_or_file=io.BytesIO(xlsx.book([xlsx.loan(**row)])), as_of=loan.as_of, user=None)
    customer.refresh_from_db()
    assert customer.name == "欧阳明华"  # the import did apply
    assert customer.salutation == "欧阳老师" and customer.honorific_name == "欧阳老师"
