"""django-import-export resources for the benchmark's baseline (bench-only).

The resources keep the library's defaults (no bulk mode, a transaction, one row at a
time, unchanged rows saved again); only the widgets are ours, so that every spelling in
the bench book imports instead of failing — the same value parsing as our importer.
"""

from __future__ import annotations

import datetime

from import_export import fields, resources, widgets

from customers.importing.parsers import parse_amount, parse_date, parse_days, parse_text
from customers.models import ZERO, Customer, Loan, LoanStatus
from customers.phones import phone_normalize

AS_OF = datetime.date(2026, 11, 28)


class AmountWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        return parse_amount(value) or ZERO


class DateWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        return parse_date(value)


class TextWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        return parse_text(value, 100)


class CustomerResource(resources.ModelResource):
    customer_no = fields.Field(attribute="customer_no", column_name="客户号", widget=TextWidget())
    name = fields.Field(attribute="name", column_name="客户姓名", widget=TextWidget())
    id_number = fields.Field(attribute="id_number", column_name="证件号码", widget=TextWidget())
    mobile = fields.Field(attribute="mobile", column_name="_mobile")
    mobile_raw = fields.Field(attribute="mobile_raw", column_name="_mobile_raw")
    phone_problem = fields.Field(attribute="phone_problem", column_name="_phone_problem")

    class Meta:
        model = Customer
        import_id_fields = ("customer_no",)
        fields = ("customer_no", "name", "id_number", "mobile", "mobile_raw", "phone_problem")

    def before_import_row(self, row, **kwargs):
        raw = row.get("手机号码")
        row["_mobile"], row["_phone_problem"] = phone_normalize(raw)
        row["_mobile_raw"] = parse_text(raw, 64)


class LoanResource(resources.ModelResource):
    loan_account = fields.Field(attribute="loan_account", column_name="贷款账号", widget=TextWidget())
    customer = fields.Field(
        attribute="customer",
        column_name="_customer_no",
        widget=widgets.ForeignKeyWidget(Customer, "customer_no"),
    )
    product = fields.Field(attribute="product", column_name="贷款产品", widget=TextWidget())
    branch = fields.Field(attribute="branch", column_name="网点", widget=TextWidget())
    principal = fields.Field(attribute="principal", column_name="合同金额", widget=AmountWidget())
    balance = fields.Field(attribute="balance", column_name="贷款余额", widget=AmountWidget())
    overdue_principal = fields.Field(
        attribute="overdue_principal", column_name="逾期本金", widget=AmountWidget()
    )
    overdue_interest = fields.Field(
        attribute="overdue_interest", column_name="逾期利息", widget=AmountWidget()
    )
    overdue_penalty = fields.Field(attribute="overdue_penalty", column_name="罚息", widget=AmountWidget())
    overdue_amount = fields.Field(attribute="overdue_amount", column_name="_overdue_amount")
    overdue_since = fields.Field(attribute="overdue_since", column_name="_overdue_since")
    next_due_date = fields.Field(attribute="next_due_date", column_name="下次还款日", widget=DateWidget())
    status = fields.Field(attribute="status", column_name="_status")
    as_of = fields.Field(attribute="as_of", column_name="_as_of")

    class Meta:
        model = Loan
        import_id_fields = ("loan_account",)
        fields = (
            "loan_account",
            "customer",
            "product",
            "branch",
            "principal",
            "balance",
            "overdue_principal",
            "overdue_interest",
            "overdue_penalty",
            "overdue_amount",
            "overdue_since",
            "next_due_date",
            "status",
            "as_of",
        )

    def before_import_row(self, row, **kwargs):
        total = parse_amount(row.get("逾期金额"))
        if total is None:
            total = sum((parse_amount(row.get(c)) or ZERO for c in ("逾期本金", "逾期利息", "罚息")), ZERO)
        since = parse_date(row.get("首次逾期日期"))
        days = parse_days(row.get("逾期天数"))
        if since is None and days is not None:
            since = AS_OF - datetime.timedelta(days=days)
        row["_customer_no"] = parse_text(row.get("客户号"), 64)
        row["_overdue_amount"] = total
        row["_overdue_since"] = since if total > 0 else None
        row["_status"] = LoanStatus.OVERDUE if total > 0 else LoanStatus.CURRENT
        row["_as_of"] = AS_OF
