#ifndef ILA_PROTO_H
#define ILA_PROTO_H
#endif
