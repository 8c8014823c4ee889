"""Second factors for the staged login: TOTP, SMS and email codes, WebAuthn, recovery codes.

Layout
    ``models``    django-otp ``Device`` subclasses (one table per kind) with the throttle on the row
    ``services``  what views and login stages call: enroll, send, verify, manage, list
    ``webauthn``  begin/complete around fido2's ``Fido2Server``
    ``views``     one module per page (challenge, enroll, passkey, security) and the code
                  challenge they share with ``stepup`` (``views.codes``)
    ``registry``  kinds, strength order and which requirement each kind satisfies
    ``crypto``    encryption at rest (MultiFernet, rotating keys)
    ``limits``    SMS send caps in the shared cache
    ``sms``       SMS backends (twilio, console, locmem) behind ``FACTORS_SMS_BACKEND``
    ``conf``      every ``FACTORS_*`` setting with its default; ``checks`` validates them
    ``seams``     ``token_bytes()``, ``random_digits()``: patched by tests (time: ``authsite.core.clock``)

Which library does what
    django-otp   Device protocol, ThrottlingMixin/CooldownMixin fields, ``django_otp.login``
    pyotp        HOTP/TOTP values and otpauth:// URIs (checked against RFC vectors and oathtool)
    segno        QR codes rendered locally as inline SVG
    cryptography Fernet/MultiFernet for TOTP keys
    phonenumbers parsing, validation, E.164 formatting, number type (mobile only)
    fido2        WebAuthn registration/assertion verification
    twilio       the SMS provider's SDK, with an explicit timeout
    Django       PBKDF2 hasher (recovery codes), salted HMAC (email/SMS codes), cache (caps)
"""
