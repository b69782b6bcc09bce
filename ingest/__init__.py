"""Getting files in and reports out: the inbox/outbox interface and its two kinds (a local
folder and an SFTP folder), and the readers that turn a file's bytes into rows."""
