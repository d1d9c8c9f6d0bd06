"""The WQL and DMTF:CQL grammars, for lark's LALR(1) parser.

Kept as Python strings so that they ship inside the package without package
data. Keywords are case-insensitive string terminals; lark's contextual
lexer reads a word as a keyword only where the grammar accepts that keyword,
so properties named `Role`, `Name` or `Order` stay names elsewhere.

Chains of AND, OR and arithmetic are written as repetitions, not left
recursion, so a long list of conditions yields one flat node.
"""

# Shared lexical rules. A string is '...' or "..." with backslash escapes;
# an object path in ASSOCIATORS OF is everything between braces, minding
# quoted key values (which may hold '}' and escaped quotes).
_LEXICAL = r"""
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /0[xX][0-9A-Fa-f]+|(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?/
OBJECT_PATH: /\{("([^"\\]|\\.)*"|[^}"])*\}/s
%import common.WS
%ignore WS
"""

_EXPRESSION_TAIL = r"""
!comp_op: "=" | "!=" | "<>" | "<" | ">" | "<=" | ">="
class_ref: STRING | NAME
literal: STRING -> string
       | NUMBER -> number
       | "TRUE"i -> true
       | "FALSE"i -> false
       | "NULL"i -> null
"""

WQL_GRAMMAR = r"""
?start: select | associators | references

select: "SELECT"i select_list "FROM"i NAME [within] ["WHERE"i expr]
within: "WITHIN"i NUMBER

select_list: "*" -> select_star
           | chain ("," chain)* -> select_items

?expr: or_expr
?or_expr: and_expr ("OR"i and_expr)*
?and_expr: not_expr ("AND"i not_expr)*
?not_expr: "NOT"i not_expr -> negation
         | predicate
         | "(" expr ")"

predicate: operand comp_op operand -> comparison
         | operand "LIKE"i operand -> like
         | operand "NOT"i "LIKE"i operand -> not_like
         | operand "IS"i "NULL"i -> is_null
         | operand "IS"i "NOT"i "NULL"i -> is_not_null
         | operand "ISA"i class_ref -> isa

?operand: literal
        | "-" NUMBER -> negative_number
        | chain

chain: NAME ("." NAME)*

associators: "ASSOCIATORS"i "OF"i OBJECT_PATH ["WHERE"i assoc_option+]
references: "REFERENCES"i "OF"i OBJECT_PATH ["WHERE"i assoc_option+]

assoc_option: ASSOC_NAMED "=" option_value -> named_option
            | ASSOC_FLAG -> flag_option
option_value: NAME | STRING

ASSOC_NAMED.2: /(AssocClass|ResultClass|ResultRole|Role|RequiredAssocQualifier|RequiredQualifier)(?![A-Za-z0-9_])/i
ASSOC_FLAG.2: /(ClassDefsOnly|KeysOnly|SchemaOnly)(?![A-Za-z0-9_])/i

STRING: /'([^'\\]|\\.)*'|"([^"\\]|\\.)*"/s
""" + _EXPRESSION_TAIL + _LEXICAL

CQL_GRAMMAR = r"""
?start: select

select: "SELECT"i [distinct] select_list "FROM"i NAME [alias] ["WHERE"i expr] [order_by]
distinct: "DISTINCT"i
alias: "AS"i NAME | NAME
order_by: "ORDER"i "BY"i order_item ("," order_item)*
order_item: expr [direction]
!direction: "ASC"i | "DESC"i

select_list: "*" -> select_star
           | select_item ("," select_item)* -> select_items
select_item: postfix -> select_expr
           | postfix "." "*" -> select_all_of

?expr: or_expr
?or_expr: and_expr ("OR"i and_expr)*
?and_expr: not_expr ("AND"i not_expr)*
?not_expr: "NOT"i not_expr -> negation
         | predicate

?predicate: sum comp_op sum -> comparison
          | sum "LIKE"i sum -> like
          | sum "NOT"i "LIKE"i sum -> not_like
          | sum "IS"i "NULL"i -> is_null
          | sum "IS"i "NOT"i "NULL"i -> is_not_null
          | sum "ISA"i class_ref -> isa
          | sum "IN"i "(" expr_list ")" -> in_list
          | sum "NOT"i "IN"i "(" expr_list ")" -> not_in_list
          | sum

?sum: product (add_op product)*
!add_op: "+" | "-" | "||"
?product: unary (mul_op unary)*
!mul_op: "*" | "/"
?unary: "-" unary -> negate
      | postfix

?postfix: primary
        | postfix "." NAME -> member
        | postfix "[" expr "]" -> index

?primary: literal
        | NAME -> name
        | NAME "(" [expr_list] ")" -> function
        | "(" expr ")"
        | quantifier NAME "IN"i postfix "SATISFIES"i "(" expr ")" -> satisfies
!quantifier: "ANY"i | "EVERY"i

expr_list: expr ("," expr)*

STRING: /'([^'\\]|\\.|'')*'|"([^"\\]|\\.|"")*"/s
""" + _EXPRESSION_TAIL + _LEXICAL
