from django import forms
from django.utils.translation import gettext_lazy as _


class ListingFilterForm(forms.Form):
    """The GET filters of the category and search pages; bad input is ignored, not fatal."""

    SORTS = [
        ("newest", _("Newest")),
        ("price_asc", _("Price: low to high")),
        ("price_desc", _("Price: high to low")),
        ("best", _("Best-selling")),
    ]
    RELEVANCE = ("relevance", _("Best match"))

    q = forms.CharField(label=_("Search"), max_length=100, required=False, strip=True)
    min_price = forms.DecimalField(
        label=_("Lowest price"), min_value=0, max_digits=12, decimal_places=2, required=False
    )
    max_price = forms.DecimalField(
        label=_("Highest price"), min_value=0, max_digits=12, decimal_places=2, required=False
    )
    in_stock = forms.BooleanField(label=_("In stock only"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False)

    def __init__(self, *args, searching: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.searching = searching
        self.fields["sort"].choices = ([self.RELEVANCE] if searching else []) + self.SORTS

    def clean(self):
        data = super().clean()
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error("max_price", _("The highest price must not be below the lowest price."))
        return data

    def filters(self) -> dict:
        """The valid filters only: a field with bad input is left out, with its error shown."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        default_sort = self.RELEVANCE[0] if self.searching else "newest"
        return {
            "q": data.get("q", ""),
            "min_price": data.get("min_price") if "min_price" not in self.errors else None,
            "max_price": data.get("max_price") if "max_price" not in self.errors else None,
            "in_stock": bool(data.get("in_stock")),
            "sort": data.get("sort") or default_sort,
        }
