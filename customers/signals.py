from django.dispatch import Signal

# Sent after an import's transaction has committed, with `loan_import`. Receivers queue
# follow-up work (e.g. repayment-plan progress); they do not change loans themselves.
loan_book_applied = Signal()
