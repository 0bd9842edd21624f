"""The feedback domain: tables, queries and settings of requests, feedback and accounts."""
