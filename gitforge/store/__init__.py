"""Git repositories and the JSON documents kept in them."""
