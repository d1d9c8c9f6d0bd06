"""Queries that must be refused, with the message that says why."""

from __future__ import annotations

from .case_table import CQL, LANGUAGE_NOT_SUPPORTED, WQL, err, ok

# --- errors ---------------------------------------------------------------------
err("unterminated-single", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName = 'web01",
    "unterminated string starting at column 55")
err("unterminated-double", WQL, 'SELECT * FROM Msvm_ComputerSystem WHERE ElementName = "web01',
    "unterminated string")
err("unterminated-cql", CQL, "SELECT * FROM X WHERE a = 'it''s", "unterminated string")
err("unknown-keyword", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState = 2 LIMIT 5",
    "unexpected 'LIMIT' at column 58")
err("top-keyword", WQL, "SELECT TOP 5 * FROM Msvm_ComputerSystem", "unexpected '5'")
err("misspelt-from", WQL, "SELECT * FORM Msvm_ComputerSystem", "unexpected 'FORM' at column 10")
err("missing-class", WQL, "SELECT * FROM", "unexpected end of query")
err("reserved-word-as-class", WQL, "SELECT * FROM WHERE",
    "expected a class name after FROM, found the reserved word WHERE at column 15")
err("reserved-word-as-class-lower", WQL, "SELECT * FROM where WHERE Name = 'x'", "reserved word WHERE")
err("reserved-word-as-class-select", WQL, "SELECT * FROM Select", "reserved word SELECT")
err("cql-reserved-word-as-class", CQL, "SELECT * FROM WHERE", "reserved word WHERE")
err("cql-reserved-word-as-alias", CQL, "SELECT * FROM X DISTINCT", "reserved word DISTINCT")
err("missing-where-condition", WQL, "SELECT * FROM X WHERE", "unexpected end of query")
err("trailing-and", WQL, "SELECT * FROM X WHERE a = 1 AND", "unexpected end of query")
err("double-operator", WQL, "SELECT * FROM X WHERE a = = 1", "unexpected '=' at column 27")
err("like-without-pattern", WQL, "SELECT * FROM X WHERE a LIKE", "unexpected end of query")
err("unbalanced-open", WQL, "SELECT * FROM X WHERE (a = 1", "unexpected end of query")
err("unbalanced-close", WQL, "SELECT * FROM X WHERE a = 1)", "unexpected ')' at column 28")
err("bad-character", WQL, "SELECT * FROM X WHERE a = #1", "unexpected character '#' at column 27")
err("semicolon", WQL, "SELECT * FROM X;", "unexpected character ';' at column 16")
err("wql-doubled-quote", WQL, "SELECT * FROM X WHERE a = 'it''s'", "unexpected")
err("wql-arithmetic", WQL, "SELECT * FROM X WHERE a + 1 = 2", "unexpected character '+'")
err("wql-function", WQL, "SELECT * FROM X WHERE UPPERCASE(a) = 'A'", "unexpected '('")
err("wql-group-within", WQL, "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE "
    "TargetInstance ISA 'X' GROUP WITHIN 10", "unexpected 'GROUP'")
err("wql-in-list", WQL, "SELECT * FROM X WHERE a IN (1, 2)", "unexpected 'IN'")
err("wql-distinct", WQL, "SELECT DISTINCT a FROM X", "unexpected 'a'")
err("wql-order-by", WQL, "SELECT * FROM X ORDER BY a", "unexpected 'ORDER'")
err("two-classes", WQL, "SELECT * FROM A, B", "unexpected ','")
err("empty", WQL, "", "empty")
err("blank", WQL, "   \n\t ", "empty")
err("isa-needs-class", WQL, "SELECT * FROM X WHERE a ISA 5", "unexpected '5'")
err("within-needs-number", WQL, "SELECT * FROM __InstanceCreationEvent WITHIN x",
    "unexpected 'x'")
err("associators-no-braces", WQL, "ASSOCIATORS OF Msvm_ComputerSystem.Name=\"x\"",
    "unexpected 'Msvm_ComputerSystem' at column 16; expected {object path}")
err("associators-unterminated-path", WQL, "ASSOCIATORS OF {Msvm_ComputerSystem.Name=\"x\"",
    "unterminated object path")
err("associators-bad-path", WQL, "ASSOCIATORS OF {Msvm_ComputerSystem.Name=}",
    "invalid object path")
err("associators-bad-path-separator", WQL, "ASSOCIATORS OF {Msvm_ComputerSystem.A=1;B=2}",
    "invalid object path")
err("associators-missing-of", WQL, "ASSOCIATORS {Msvm_ComputerSystem=@}", "unexpected")
err("associators-exclusive", WQL, "ASSOCIATORS OF {X=@} WHERE ClassDefsOnly ResultClass = Y",
    "ClassDefsOnly and ResultClass cannot be combined")
err("associators-duplicate", WQL, "ASSOCIATORS OF {X=@} WHERE Role = A Role = B",
    "Role is given twice")
err("associators-unknown-option", WQL, "ASSOCIATORS OF {X=@} WHERE Foo = Bar", "unexpected 'Foo'")
err("associators-empty-where", WQL, "ASSOCIATORS OF {X=@} WHERE", "unexpected end of query")
err("references-assoc-class", WQL, "REFERENCES OF {X=@} WHERE AssocClass = A",
    "REFERENCES OF does not take AssocClass")
err("references-result-role", WQL, "REFERENCES OF {X=@} WHERE ResultRole = A",
    "REFERENCES OF does not take ResultRole")
err("cql-unknown-function", CQL, "SELECT * FROM X WHERE SUBSTRING(a) = 'b'",
    "unknown function SUBSTRING() at column 23")
err("cql-arity", CQL, "SELECT * FROM X WHERE UPPERCASE(a, b) = 'A'",
    "UPPERCASE() takes 1 arguments, not 2")
err("cql-aggregate", CQL, "SELECT * FROM X WHERE COUNT(a) > 1", "unknown function COUNT()")
err("cql-associators", CQL, "ASSOCIATORS OF {X=@}", "unexpected 'ASSOCIATORS' at column 1")
err("cql-join", CQL, "SELECT * FROM A, B", "unexpected ','")
err("cql-select-expression", CQL, "SELECT a + 1 FROM X", "unexpected '+' at column 10")
err("cql-select-function", CQL, "SELECT UPPERCASE(a) FROM X", "names properties")
err("cql-group-by", CQL, "SELECT * FROM X GROUP BY a", "unexpected 'BY'")
err("cql-within", CQL, "SELECT * FROM CIM_InstCreation WITHIN 5", "unexpected '5'")
err("cql-satisfies-needs-parentheses", CQL, "SELECT * FROM X WHERE ANY x IN a SATISFIES x = 1",
    "unexpected 'x'")
err("unknown-language", "SQL", "SELECT * FROM X", "'SQL' is not supported",
    LANGUAGE_NOT_SUPPORTED)
err("unknown-language-empty", "", "SELECT * FROM X", "not supported", LANGUAGE_NOT_SUPPORTED)
err("unknown-language-cql2", "DMTF:CQL2", "SELECT * FROM X", "not supported",
    LANGUAGE_NOT_SUPPORTED)
ok("language-lower-case", "wql", "SELECT * FROM Msvm_DiskDrive", "disk3")
ok("language-cql-alias", "CQL", "SELECT * FROM Msvm_DiskDrive", "disk3")
ok("language-cql-lower", "dmtf:cql", "SELECT * FROM Msvm_DiskDrive", "disk3")
