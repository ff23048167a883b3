// A strict reader of the XML subset the JUnit writer produces, for reading it back in
// tests: one prolog, elements, attributes in double quotes, text, the five predefined
// entities and numeric character references. Anything else (a character XML 1.0
// forbids, a bad entity, a mismatched tag, text outside the root) is an error, so a
// document that reads here is well-formed XML.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gotestrun::report::testing {

struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::string text;  // the text directly inside, entities decoded
  std::vector<std::unique_ptr<XmlElement>> children;

  std::vector<const XmlElement*> Children(std::string_view n) const {
    std::vector<const XmlElement*> out;
    for (const auto& c : children) {
      if (c->name == n) out.push_back(c.get());
    }
    return out;
  }
  const XmlElement* Child(std::string_view n) const {
    for (const auto& c : children) {
      if (c->name == n) return c.get();
    }
    return nullptr;
  }
  std::string Attr(const std::string& n) const {
    auto it = attributes.find(n);
    return it == attributes.end() ? std::string() : it->second;
  }
};

class XmlReader {
 public:
  // The root element, or null with error() saying what is wrong.
  static std::unique_ptr<XmlElement> Parse(std::string_view doc, std::string* error) {
    XmlReader r(doc);
    auto root = r.Document();
    if (!root && error) *error = r.error_ + " at byte " + std::to_string(r.pos_);
    return root;
  }

 private:
  explicit XmlReader(std::string_view doc) : s_(doc) {}

  bool Fail(std::string m) {
    if (error_.empty()) error_ = std::move(m);
    return false;
  }

  // Checks that the whole document is UTF-8 made of XML 1.0 characters.
  bool CheckChars() {
    for (std::size_t i = 0; i < s_.size();) {
      auto c = static_cast<unsigned char>(s_[i]);
      std::uint32_t cp = 0;
      std::size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
      if (n == 0 || i + n > s_.size()) return Fail("not UTF-8");
      cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
      for (std::size_t k = 1; k < n; ++k) {
        auto d = static_cast<unsigned char>(s_[i + k]);
        if ((d & 0xC0) != 0x80) return Fail("not UTF-8");
        cp = (cp << 6) | (d & 0x3F);
      }
      if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return Fail("overlong UTF-8");
      bool ok = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
                (cp >= 0x10000 && cp <= 0x10FFFF);
      if (!ok) return Fail("character U+" + std::to_string(cp) + " is not allowed in XML 1.0");
      i += n;
    }
    return true;
  }

  std::unique_ptr<XmlElement> Document() {
    if (!CheckChars()) return nullptr;
    constexpr std::string_view kProlog = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    if (s_.substr(0, kProlog.size()) != kProlog) {
      Fail("no XML declaration");
      return nullptr;
    }
    pos_ = kProlog.size();
    SkipSpace();
    auto root = Element();
    if (!root) return nullptr;
    SkipSpace();
    if (pos_ != s_.size()) {
      Fail("content after the root element");
      return nullptr;
    }
    return root;
  }

  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
  }

  static bool NameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == ':';
  }

  std::string Name() {
    std::size_t start = pos_;
    while (pos_ < s_.size() && NameChar(s_[pos_])) ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }

  // Text up to `end` (a '<' for content, '"' for attributes), entities decoded.
  std::optional<std::string> Text(char end) {
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != end) {
      char c = s_[pos_];
      if (c == '<' || (c == '>' && end == '"')) {
        Fail("unescaped markup character in text");
        return std::nullopt;
      }
      if (c != '&') {
        out += c;
        ++pos_;
        continue;
      }
      std::size_t semi = s_.find(';', pos_);
      if (semi == std::string_view::npos || semi - pos_ > 10) {
        Fail("bad entity");
        return std::nullopt;
      }
      std::string_view ent = s_.substr(pos_ + 1, semi - pos_ - 1);
      if (ent == "amp") out += '&';
      else if (ent == "lt") out += '<';
      else if (ent == "gt") out += '>';
      else if (ent == "quot") out += '"';
      else if (ent == "apos") out += '\'';
      else if (ent.size() > 1 && ent[0] == '#') {
        std::uint32_t cp = 0;
        bool hex = ent[1] == 'x';
        for (char d : ent.substr(hex ? 2 : 1)) {
          int v = d >= '0' && d <= '9'          ? d - '0'
                  : hex && d >= 'a' && d <= 'f' ? d - 'a' + 10
                  : hex && d >= 'A' && d <= 'F' ? d - 'A' + 10
                                                : -1;
          if (v < 0) {
            Fail("bad character reference");
            return std::nullopt;
          }
          cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
        }
        if (cp != 0x9 && cp != 0xA && cp != 0xD && (cp < 0x20 || cp > 0x7F)) {
          Fail("character reference outside what this reader expects");
          return std::nullopt;
        }
        out += static_cast<char>(cp);
      } else {
        Fail("unknown entity &" + std::string(ent) + ";");
        return std::nullopt;
      }
      pos_ = semi + 1;
    }
    return out;
  }

  std::unique_ptr<XmlElement> Element() {
    if (pos_ >= s_.size() || s_[pos_] != '<') {
      Fail("expected an element");
      return nullptr;
    }
    ++pos_;
    auto e = std::make_unique<XmlElement>();
    e->name = Name();
    if (e->name.empty()) {
      Fail("element without a name");
      return nullptr;
    }
    for (;;) {
      std::size_t before = pos_;
      SkipSpace();
      if (pos_ >= s_.size()) {
        Fail("document ends inside a tag");
        return nullptr;
      }
      if (s_.substr(pos_, 2) == "/>") {
        pos_ += 2;
        return e;
      }
      if (s_[pos_] == '>') {
        ++pos_;
        break;
      }
      if (pos_ == before) {
        Fail("attributes must be separated by space");
        return nullptr;
      }
      std::string name = Name();
      if (name.empty() || pos_ + 1 >= s_.size() || s_[pos_] != '=' || s_[pos_ + 1] != '"') {
        Fail("bad attribute");
        return nullptr;
      }
      pos_ += 2;
      auto value = Text('"');
      if (!value || pos_ >= s_.size()) {
        Fail("unterminated attribute");
        return nullptr;
      }
      ++pos_;
      if (!e->attributes.emplace(name, *value).second) {
        Fail("attribute " + name + " given twice");
        return nullptr;
      }
    }
    for (;;) {
      auto text = Text('<');
      if (!text) return nullptr;
      e->text += *text;
      if (pos_ >= s_.size()) {
        Fail("element " + e->name + " is not closed");
        return nullptr;
      }
      if (s_.substr(pos_, 2) == "</") {
        pos_ += 2;
        std::string name = Name();
        if (name != e->name || pos_ >= s_.size() || s_[pos_] != '>') {
          Fail("</" + name + "> closes <" + e->name + ">");
          return nullptr;
        }
        ++pos_;
        return e;
      }
      auto child = Element();
      if (!child) return nullptr;
      e->children.push_back(std::move(child));
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace gotestrun::report::testing
