// SPDX-License-Identifier: Apache-2.0
//
// libxml2 parsing and schema validation of policy XML. The parser runs with network access off,
// no entity substitution, no DTD loading and no XInclude, and stops at a DOCTYPE; diagnostics are
// captured per call through structured-error callbacks, never printed.
#include "xml_reader.h"

#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include <cstring>
#include <string>

#include "shype/policyc/policy_document.h"
#include "shype/policyc/policy_error.h"

namespace shype::policyc {
namespace {

constexpr std::string_view kNamespacePrefix = "{http://www.ibm.com}";

// The first diagnostic of one parse or validation run.
struct Diagnostics {
  bool has_error = false;
  bool saw_doctype = false;
  std::uint32_t line = 0;
  std::string element;
  std::string message;
};

std::string CleanMessage(const char* text) {
  std::string message = text != nullptr ? text : "unknown XML error";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  for (auto pos = message.find(kNamespacePrefix); pos != std::string::npos;
       pos = message.find(kNamespacePrefix, pos)) {
    message.erase(pos, kNamespacePrefix.size());
  }
  return message;
}

// What to do about the schema messages whose text does not say it.
std::string Hint(const std::string& message, const xmlNode* node) {
  if (message.find("No matching global declaration") != std::string::npos) {
    return "; the root must be <SecurityPolicyDefinition xmlns=\"http://www.ibm.com\">";
  }
  const bool in_resource = node != nullptr && node->parent != nullptr &&
                           node->parent->parent != nullptr &&
                           LocalName(node->parent->parent) == "ResourceLabel";
  if (in_resource && LocalName(node) == "Type") {
    return "; a resource label carries exactly one STE type";
  }
  if (message.find("not expected.") != std::string::npos &&
      message.find("Expected is") == std::string::npos) {
    return "; remove it or move it where src/policyc/security_policy.xsd allows it";
  }
  return {};
}

void Record(Diagnostics& diag, const xmlError* error) {
  if (diag.has_error || error == nullptr || error->level < XML_ERR_ERROR) return;
  diag.has_error = true;
  diag.line = error->line > 0 ? static_cast<std::uint32_t>(error->line) : 1U;
  const auto* node = static_cast<const xmlNode*>(error->node);
  if (node != nullptr && node->type == XML_ELEMENT_NODE) {
    diag.element = LocalName(node);
    if (error->line <= 0) diag.line = LineOf(node);
  }
  diag.message = CleanMessage(error->message);
  if (const std::string hint = Hint(diag.message, node); !hint.empty()) {
    if (diag.message.ends_with('.')) diag.message.pop_back();
    diag.message += hint;
  }
}

void OnParserError(void* user_data, xmlErrorPtr error) {
  auto* ctxt = static_cast<xmlParserCtxt*>(user_data);
  Record(*static_cast<Diagnostics*>(ctxt->_private), error);
}

void OnSchemaError(void* user_data, xmlErrorPtr error) {
  Record(*static_cast<Diagnostics*>(user_data), error);
}

// SECURITY: a DOCTYPE can declare entities (billion laughs, external files); refuse it outright.
void OnInternalSubset(void* user_data, const xmlChar*, const xmlChar*, const xmlChar*) {
  auto* ctxt = static_cast<xmlParserCtxt*>(user_data);
  auto* diag = static_cast<Diagnostics*>(ctxt->_private);
  if (!diag->has_error) {
    diag->has_error = true;
    diag->saw_doctype = true;
    diag->line = static_cast<std::uint32_t>(xmlSAX2GetLineNumber(ctxt));
    diag->element = "DOCTYPE";
    diag->message =
        "a DOCTYPE (DTD) is not allowed in a policy; remove the <!DOCTYPE ...> declaration";
  }
  xmlStopParser(ctxt);
}

struct ParserCtxtDeleter {
  void operator()(xmlParserCtxt* ctxt) const { xmlFreeParserCtxt(ctxt); }
};
struct SchemaParserDeleter {
  void operator()(xmlSchemaParserCtxt* ctxt) const { xmlSchemaFreeParserCtxt(ctxt); }
};
struct SchemaDeleter {
  void operator()(xmlSchema* schema) const { xmlSchemaFree(schema); }
};
struct ValidCtxtDeleter {
  void operator()(xmlSchemaValidCtxt* ctxt) const { xmlSchemaFreeValidCtxt(ctxt); }
};

Error XmlError(std::string_view source, const Diagnostics& diag, std::string_view fallback) {
  const std::string element = diag.element.empty() ? "document" : diag.element;
  const std::string what = diag.message.empty() ? std::string(fallback) : diag.message;
  return MakePolicyError(PolicyErrorCategory::kBadXml, source, diag.line == 0 ? 1 : diag.line,
                         element, what);
}

// libxml2 reports some errors (e.g. encoding conversion) through its thread's generic handler,
// which prints to stderr; a library must not. This silences it for the scope of one parse.
void IgnoreGenericError(void* /*context*/, const char* /*format*/, ...) {}

class QuietLibxml {
 public:
  QuietLibxml() : saved_(xmlGenericError), saved_context_(xmlGenericErrorContext) {
    xmlSetGenericErrorFunc(nullptr, &IgnoreGenericError);
  }
  ~QuietLibxml() { xmlSetGenericErrorFunc(saved_context_, saved_); }
  QuietLibxml(const QuietLibxml&) = delete;
  QuietLibxml& operator=(const QuietLibxml&) = delete;

 private:
  xmlGenericErrorFunc saved_;
  void* saved_context_;
};

Result<XmlDocPtr> ParseXml(std::span<const std::uint8_t> bytes, std::string_view source) {
  QuietLibxml quiet;
  std::unique_ptr<xmlParserCtxt, ParserCtxtDeleter> ctxt(xmlNewParserCtxt());
  if (!ctxt || ctxt->sax == nullptr) {
    return Fail(ErrorCode::kInternal, "{}: cannot create an XML parser", source);
  }
  Diagnostics diag;
  ctxt->_private = &diag;
  ctxt->sax->serror = &OnParserError;
  ctxt->sax->internalSubset = &OnInternalSubset;
  ctxt->sax->externalSubset = nullptr;
  constexpr int kOptions = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                           XML_PARSE_BIG_LINES | XML_PARSE_NOXINCNODE;
  XmlDocPtr doc(xmlCtxtReadMemory(ctxt.get(), reinterpret_cast<const char*>(bytes.data()),
                                  static_cast<int>(bytes.size()), nullptr, nullptr, kOptions));
  if (diag.has_error || !doc || ctxt->wellFormed == 0) {
    return Fail(XmlError(source, diag, "the document is not well-formed XML"));
  }
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    diag.message = "a DOCTYPE (DTD) is not allowed in a policy; remove it";
    return Fail(XmlError(source, diag, ""));
  }
  return doc;
}

Result<void> ValidateXml(xmlDoc* doc, std::string_view source) {
  const std::string_view xsd = EmbeddedPolicySchema();
  Diagnostics diag;
  std::unique_ptr<xmlSchemaParserCtxt, SchemaParserDeleter> parser(
      xmlSchemaNewMemParserCtxt(xsd.data(), static_cast<int>(xsd.size())));
  if (!parser) return Fail(ErrorCode::kInternal, "cannot load the embedded policy schema");
  xmlSchemaSetParserStructuredErrors(parser.get(), &OnSchemaError, &diag);
  std::unique_ptr<xmlSchema, SchemaDeleter> schema(xmlSchemaParse(parser.get()));
  if (!schema) {
    return Fail(ErrorCode::kInternal, "embedded policy schema is invalid: {}", diag.message);
  }
  std::unique_ptr<xmlSchemaValidCtxt, ValidCtxtDeleter> valid(xmlSchemaNewValidCtxt(schema.get()));
  if (!valid) return Fail(ErrorCode::kInternal, "cannot create a schema validation context");
  xmlSchemaSetValidStructuredErrors(valid.get(), &OnSchemaError, &diag);
  const int rc = xmlSchemaValidateDoc(valid.get(), doc);
  if (rc != 0 || diag.has_error) {
    return Fail(XmlError(source, diag, "the document does not follow the policy schema"));
  }
  return {};
}

}  // namespace

void XmlDocDeleter::operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }

Result<XmlDocPtr> ReadValidatedXml(std::span<const std::uint8_t> bytes,
                                   std::string_view source_name) {
  if (bytes.size() > kMaxPolicyXmlBytes) {
    return Fail(MakePolicyError(PolicyErrorCategory::kBadXml, source_name, 1, "document",
                                fmt::format("the policy is {} bytes; at most {} are accepted",
                                            bytes.size(), kMaxPolicyXmlBytes)));
  }
  xmlInitParser();
  auto doc = ParseXml(bytes, source_name);
  if (!doc) return doc;
  if (auto valid = ValidateXml(doc->get(), source_name); !valid) return Fail(valid.error());
  return doc;
}

std::string_view LocalName(const xmlNode* node) {
  return node != nullptr && node->name != nullptr
             ? std::string_view(reinterpret_cast<const char*>(node->name))
             : std::string_view();
}

std::uint32_t LineOf(const xmlNode* node) {
  const long line = xmlGetLineNo(node);
  return line > 0 ? static_cast<std::uint32_t>(line) : 1U;
}

std::vector<const xmlNode*> ChildElements(const xmlNode* node) {
  std::vector<const xmlNode*> out;
  for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
    if (child->type == XML_ELEMENT_NODE) out.push_back(child);
  }
  return out;
}

const xmlNode* FirstChild(const xmlNode* node, std::string_view name) {
  for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
    if (child->type == XML_ELEMENT_NODE && LocalName(child) == name) return child;
  }
  return nullptr;
}

std::vector<const xmlNode*> ChildrenNamed(const xmlNode* node, std::string_view name) {
  std::vector<const xmlNode*> out;
  for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
    if (child->type == XML_ELEMENT_NODE && LocalName(child) == name) out.push_back(child);
  }
  return out;
}

std::string TextOf(const xmlNode* node) {
  std::string text;
  for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
    if ((child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) &&
        child->content != nullptr) {
      text += reinterpret_cast<const char*>(child->content);
    }
  }
  return text;
}

std::optional<std::string> AttributeOf(const xmlNode* node, std::string_view name) {
  for (const xmlAttr* attr = node->properties; attr != nullptr; attr = attr->next) {
    if (attr->ns != nullptr || attr->name == nullptr ||
        std::string_view(reinterpret_cast<const char*>(attr->name)) != name) {
      continue;
    }
    std::string value;
    for (const xmlNode* child = attr->children; child != nullptr; child = child->next) {
      if (child->content != nullptr) value += reinterpret_cast<const char*>(child->content);
    }
    return value;
  }
  return std::nullopt;
}

}  // namespace shype::policyc
