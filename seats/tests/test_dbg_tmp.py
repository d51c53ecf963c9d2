import json, pytest
from seats.tests.test_admin import *
def test_dbg(staff_client):
    venue = Venue.objects.create(name="Main hall")
    r = upload(staff_client, json.dumps(small_plan()).encode(), venue)
    print(r.context["adminform"].form.errors, r.context.get("errors"))
    import re; print(re.findall(r'class="errorlist[^"]*"[^>]*>.*?</ul>', r.content.decode(), re.S))
