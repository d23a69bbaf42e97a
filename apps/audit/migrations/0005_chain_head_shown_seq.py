from django.db import migrations, models


def start_at_the_head(apps, schema_editor):
    head = apps.get_model("audit", "ChainHead")
    head.objects.update(shown_seq=models.F("seq"))


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0004_list_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="chainhead",
            name="shown_seq",
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(start_at_the_head, migrations.RunPython.noop),
    ]
