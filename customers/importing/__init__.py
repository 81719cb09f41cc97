"""Reading and checking loan-book files; the writes live in customers.services.loan_import."""
