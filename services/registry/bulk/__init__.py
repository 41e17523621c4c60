"""Bulk work on the registry: spreadsheet import (validate the whole file, then write it in one
transaction on confirm), export with the template's columns, and the background job runner."""
