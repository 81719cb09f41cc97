"""Demo customers, loans across every stage, and the three demo users. Safe to re-run."""

from __future__ import annotations

import datetime
import os
import random
import secrets
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import roles
from customers.models import Customer, Loan, LoanEvent, LoanEventKind, LoanStatus, PhoneProblem
from customers.salutations import id_check_digit

DEMO_USERS = [
    ("staff", "催收专员", roles.STAFF),
    ("staff2", "催收专员二", roles.STAFF),
    ("supervisor", "主管", roles.SUPERVISOR),
    ("admin", "系统管理员", roles.ADMINISTRATOR),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
COMPOUND_SURNAMES = ["欧阳", "诸葛", "上官", "司马", "慕容", "东方"]
# Given names by sex: a customer's sex is picked first, then a name and an ID number that
# agree with it, so every salutation the demo shows fits the name.
GIVEN = {
    True: [
        "伟",
        "强",
        "磊",
        "军",
        "洋",
        "勇",
        "杰",
        "涛",
        "明",
        "超",
        "刚",
        "建华",
        "晓东",
        "志强",
        "国庆",
        "峰",
    ],
    False: [
        "芳",
        "娜",
        "秀英",
        "敏",
        "静",
        "丽",
        "艳",
        "娟",
        "秀兰",
        "霞",
        "桂英",
        "雪梅",
        "海燕",
        "春燕",
        "婉儿",
        "慧",
    ],
}
# A few names the salutation rules treat specially: (name, male, 15-digit ID number).
SPECIAL_NAMES = {
    3: ("买买提·艾力", True, False),
    9: ("阿依古丽·吐尔逊", False, False),
    16: ("林峰", True, True),  # two loans (16 % 4 == 0), a 15-digit ID number
}
PRODUCTS = ["个人消费贷", "个人经营贷", "信用卡分期", "住房按揭贷"]
BRANCHES = ["杭州西湖支行", "杭州滨江支行", "宁波海曙支行", "温州鹿城支行"]
REGIONS = ["330102", "330106", "330203", "330302", "110105", "310104"]
# Days overdue spread over every default stage, plus two current loans.
DAYS = [1, 2, 3, 5, 9, 14, 18, 25, 29, 35, 47, 58, 64, 77, 88, 95, 130, 200, 0, 0]


def _id_number(rng: random.Random, male: bool, *, old_form: bool = False) -> str:
    """A valid ID number for a customer of this sex: its sex digit odd for men, and (18
    digits) the right ISO 7064 check digit; `old_form`: the 15-digit number of before 1999."""
    birth = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(0, 365 * 38))
    sex_digit = rng.randrange(0, 5) * 2 + (1 if male else 0)
    if old_form:
        return f"{rng.choice(REGIONS)}{birth:%y%m%d}{rng.randrange(10, 99)}{sex_digit}"
    body = f"{rng.choice(REGIONS)}{birth:%Y%m%d}{rng.randrange(10, 99)}{sex_digit}"
    return body + id_check_digit(body)


def _name(rng: random.Random, male: bool, i: int) -> str:
    surname = rng.choice(COMPOUND_SURNAMES) if i % 7 == 2 else rng.choice(SURNAMES)
    return surname + rng.choice(GIVEN[male])


def demo_password() -> str:
    """DEMO_PASSWORD, else the one generated on first run (kept in .demo_password)."""
    if os.environ.get("DEMO_PASSWORD"):
        return os.environ["DEMO_PASSWORD"]
    stored = Path(settings.BASE_DIR) / ".demo_password"
    if stored.exists():
        return stored.read_text().strip()
    password = secrets.token_urlsafe(9)
    stored.write_text(password + "\n")
    stored.chmod(0o600)
    return password


class Command(BaseCommand):
    help = "Create demo customers, loans and the demo users staff, supervisor and admin."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=60)
        parser.add_argument("--no-history", action="store_true", help="only customers, loans and users")

    def handle(self, *args, **options):
        password = demo_password()
        with transaction.atomic():
            self._users(password)
            created = self._book(options["customers"])
        if not options["no_history"]:
            from demo.history import demo_history

            demo_history()
        self.stdout.write(
            self.style.SUCCESS(_("Demo data ready (%(count)s new loans).") % {"count": created})
        )
        self.stdout.write(_("Demo logins (username / password):"))
        for username, _name, role in DEMO_USERS:
            self.stdout.write(f"  {username:<11} {password}   ({role})")

    def _users(self, password: str) -> None:
        User = get_user_model()
        for username, first_name, role in DEMO_USERS:
            user, _created = User.objects.get_or_create(
                username=username, defaults={"first_name": first_name}
            )
            user.is_staff = True
            user.is_active = True
            user.set_password(password)
            user.save()
            user.groups.set([Group.objects.get(name=role)])

    def _book(self, count: int) -> int:
        rng = random.Random(20261128)
        today = timezone.localdate()
        created_loans = 0
        shared_mobile = "+8613900001111"
        for i in range(count):
            male = rng.random() < 0.5
            name, old_form = _name(rng, male, i), False
            if i in SPECIAL_NAMES:
                name, male, old_form = SPECIAL_NAMES[i]
            mobile = f"+861{rng.choice('3578')}{rng.randrange(0, 10)}{rng.randrange(10**7, 10**8)}"
            problem = PhoneProblem.NONE
            if i % 17 == 5:
                mobile, problem = "", PhoneProblem.MISSING
            elif i % 19 == 7:
                mobile, problem = "", PhoneProblem.NOT_MOBILE
            elif i in (11, 12):
                mobile, problem = shared_mobile, PhoneProblem.SHARED
            customer, _created = Customer.objects.get_or_create(
                customer_no=f"C{100000 + i}",
                defaults={
                    "name": name,
                    "id_number": _id_number(rng, male, old_form=old_form),
                    "mobile": mobile,
                    "mobile_raw": {PhoneProblem.NOT_MOBILE: "0571-87654321"}.get(problem, mobile[3:]),
                    "phone_problem": problem,
                    "do_not_contact": i == 23,
                    "do_not_contact_reason": "客户投诉，暂停联系" if i == 23 else "",
                    "deceased": i == 31,
                    "disputed": i == 37,
                },
            )
            for j in range(1 + (i % 4 == 0) + (i % 20 == 0)):
                days = DAYS[(i * 3 + j * 7) % len(DAYS)]
                overdue = Decimal(rng.randrange(30000, 2500000)) / 100 if days else Decimal("0.00")
                principal = Decimal(rng.randrange(10, 300)) * 1000
                loan, made = Loan.objects.get_or_create(
                    loan_account=f"6{330100 + i:06d}{j:02d}{rng.randrange(1000, 9999)}",
                    defaults={
                        "customer": customer,
                        "product": rng.choice(PRODUCTS),
                        "branch": rng.choice(BRANCHES),
                        "principal": principal,
                        "balance": principal * Decimal("0.6"),
                        "overdue_principal": (overdue * Decimal("0.9")).quantize(Decimal("0.01")),
                        "overdue_interest": overdue - (overdue * Decimal("0.9")).quantize(Decimal("0.01")),
                        "overdue_amount": overdue,
                        "overdue_since": today - datetime.timedelta(days=days) if days else None,
                        "next_due_date": today + datetime.timedelta(days=rng.randrange(3, 28)),
                        "status": LoanStatus.OVERDUE if days else LoanStatus.CURRENT,
                        "as_of": today,
                    },
                )
                if made:
                    created_loans += 1
                    if days:
                        LoanEvent.objects.create(
                            loan=loan,
                            kind=LoanEventKind.BECAME_OVERDUE,
                            on_date=loan.overdue_since + datetime.timedelta(days=1),
                            overdue_amount_after=overdue,
                        )
        return created_loans
