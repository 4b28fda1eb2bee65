#ifndef ILA_CONF_H
#define ILA_CONF_H
#endif
