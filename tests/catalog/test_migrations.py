import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("catalog", "0002_stock_movements")]
AFTER = [("catalog", "0003_storefront_images_specs_featured")]


@pytest.fixture
def back_to_latest_afterwards():
    """Leave the schema fully migrated for the tests that run next."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest_afterwards")
def test_products_sold_before_the_sold_count_existed_get_it_from_their_movements():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Category, Product, Variant, StockMovement = (
        apps.get_model("catalog", name)
        for name in ("Category", "Product", "Variant", "StockMovement")
    )
    category = Category.objects.create(name="酒", slug="c", lft=1, rght=2, tree_id=1, level=0)
    product = Product.objects.create(category=category, name="酒", slug="p")
    variant = Variant.objects.create(product=product, name="瓶", sku="S", price=10, stock=4)
    for kind, quantity in [
        ("received", 10),
        ("sold", -5),
        ("sold", -2),
        ("released", 2),
        ("returned", 1),
    ]:
        StockMovement.objects.create(variant=variant, kind=kind, quantity=quantity, stock_after=0)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    assert apps.get_model("catalog", "Product").objects.get(slug="p").sold_count == 4
