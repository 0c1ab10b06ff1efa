from django.db import models


class SingletonModel(models.Model):
    """A settings model with exactly one row (id 1), edited in the admin.

    Subclasses add a ``CheckConstraint(condition=Q(id=1))`` of their own name;
    ``core.admin.SingletonAdmin`` opens the row straight from the list.
    """

    SINGLETON_PK = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_PK, editable=False)

    class Meta:
        abstract = True

    @classmethod
    def get_solo(cls):
        """The one row, created with the defaults the first time it is asked for."""
        obj, _created = cls.objects.get_or_create(pk=cls.SINGLETON_PK)
        return obj
