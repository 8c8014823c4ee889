from django.db import migrations, models

# The name the fallback device was created with before it had its own flag.
FALLBACK_NAME = "Email to your account address"


def mark_fallback_devices(apps, schema_editor):
    """Flag the email devices made for the account-address fallback, so they stop counting as factors."""
    EmailDevice = apps.get_model("factors", "EmailDevice")
    for device in EmailDevice.objects.filter(name=FALLBACK_NAME).select_related("user"):
        if device.email.lower() == device.user.email.lower():
            device.account_fallback = True
            device.save(update_fields=["account_fallback"])


class Migration(migrations.Migration):
    dependencies = [
        ("factors", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="emaildevice",
            name="account_fallback",
            field=models.BooleanField(
                default=False,
                help_text="Codes to the account address for a user without a factor; not one of the user's factors.",
            ),
        ),
        migrations.RunPython(mark_fallback_devices, migrations.RunPython.noop),
    ]
