from django.conf import settings


def bank(request):
    return {"BANK_NAME": settings.BANK_NAME, "BANK_HOTLINE": settings.BANK_HOTLINE}
