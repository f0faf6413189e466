"""Every REST route under /api/, one include per app."""

urlpatterns: list = []
