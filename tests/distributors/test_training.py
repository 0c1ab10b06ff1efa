"""Training resources (培训资料): each distributor sees what their grade may see."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from distributors.grades import set_grade
from distributors.models import TrainingResource

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def resources(grades):
    ordinary, silver, gold = grades
    now = timezone.now()

    def make(title, **extra):
        return TrainingResource.objects.create(
            title=title, body="第一段\n\n第二段", is_published=True, **extra
        )

    return {
        "everyone": make("新人入门", min_grade=None),
        "ordinary": make("朋友圈文案", min_grade=ordinary),
        "silver": make("带团队", min_grade=silver),
        "gold": make("大客户", min_grade=gold),
        "draft": TrainingResource.objects.create(title="草稿", is_published=False),
        "scheduled": make("下周发布", published_at=now + timedelta(days=7)),
    }


@pytest.fixture
def silver_client(client, chain, grades, admin_user):
    bob = chain[1]
    set_grade(bob, grades[1], actor=admin_user)
    client.force_login(bob.user)
    return client


def titles(response):
    return {resource.title for resource in response.context["page"].object_list}


def test_a_distributor_sees_the_published_resources_up_to_their_grade(silver_client, resources):
    page = silver_client.get(reverse("distributors:training_list"))
    assert titles(page) == {"新人入门", "朋友圈文案", "带团队"}


def test_a_resource_of_their_grade_opens(silver_client, resources):
    page = silver_client.get(resources["silver"].get_absolute_url())
    assert page.status_code == 200
    assert "<p>第一段</p>" in page.content.decode()


@pytest.mark.parametrize("which", ["gold", "draft", "scheduled"])
def test_a_resource_above_their_grade_or_unpublished_is_not_found(silver_client, resources, which):
    assert silver_client.get(resources[which].get_absolute_url()).status_code == 404


def test_a_distributor_without_a_grade_sees_what_rank_zero_sees(
    client, make_distributor, resources
):
    from distributors.models import Distributor

    lone = make_distributor("lone")
    Distributor.objects.filter(pk=lone.pk).update(grade=None)
    client.force_login(lone.user)
    assert titles(client.get(reverse("distributors:training_list"))) == {"新人入门", "朋友圈文案"}


def test_the_file_of_a_resource_is_served_only_to_those_who_may_read_it(silver_client, resources):
    silver, gold = resources["silver"], resources["gold"]
    silver.file.save("团队手册.pdf", ContentFile(b"%PDF-1.4 silver"))
    gold.file.save("大客户.pdf", ContentFile(b"%PDF-1.4 gold"))

    served = silver_client.get(reverse("distributors:training_file", args=[silver.pk]))
    refused = silver_client.get(reverse("distributors:training_file", args=[gold.pk]))

    assert b"".join(served.streaming_content) == b"%PDF-1.4 silver"
    assert "attachment" in served["Content-Disposition"]
    assert refused.status_code == 404


def test_a_resource_without_a_file_has_no_download(silver_client, resources):
    url = reverse("distributors:training_file", args=[resources["silver"].pk])
    assert silver_client.get(url).status_code == 404


def test_uploaded_files_land_in_an_unguessable_folder(resources):
    resource = resources["silver"]
    resource.file.save("手册.pdf", ContentFile(b"x"))
    folder = resource.file.name.split("/")[1]
    assert resource.file.name.startswith("training/") and len(folder) == 32
    assert resource.file_name == "手册.pdf"


def test_training_needs_a_distributor(client, shopper):
    client.force_login(shopper)
    assert client.get(reverse("distributors:training_list")).url == reverse("distributors:join")
