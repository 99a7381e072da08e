# The customer page (issue 5): a customer's orders valid and invalid apart, newest first, with
# their sums from the index alone; a customer's carts counted by status.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                fields=["customer", "is_valid", "-created_at", "-id", "total"],
                name="order_customer_split",
            ),
        ),
        migrations.AddIndex(
            model_name="cart",
            index=models.Index(fields=["customer", "status"], name="cart_customer_status"),
        ),
    ]
